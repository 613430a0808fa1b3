package spec

// Smarts connection node, PROVIDERS.md section 2.
//
// Smarts publishes its data objects as tables and examples. What a table
// publishes (types, enums, "Required: Yes") is enforced strictly; objects
// Smarts does not publish (HealthStatus, ReceiptProduct, the bonus and resend
// requests, ...) are modelled from the examples and only type-checked when
// present. Unknown extra fields are always accepted.
//
// Objects that occur in several bodies (Product, Price, VAT, Quantity,
// Shipment, ...) are written once below as helpers taking the path of the
// object, so that a rule is fixed in one place.

// Smarts enumerations, as published (misspellings included where Smarts
// publishes them: EXIPRED, RESTICT).
var (
	SmartsUnits = []string{"PIECE", "LITER", "DECILITER", "KILOGRAM", "GRAM", "TON", "METER", "CENTIMETER",
		"DECIMETER", "PINT", "FOOT", "YARD", "MILE", "CUP", "QUART", "GALLON", "POUND", "STONE", "INCH"}
	SmartsInspectionTypes = []string{"BETWEEN_TIME", "MIN_TIME", "MAX_TIME", "MIN_AGE", "MIN_AMOUNT", "MAX_AMOUNT"}
	// RESTICT is the misspelling of one published example; it is accepted
	// as an alias of RESTRICT so that bodies copied from the docs pass.
	SmartsInspectionActions = []string{"INSPECT", "RESTRICT", "RESTICT"}
	SmartsCurrencies        = []string{"EUR", "USD"}
	SmartsInvoiceStatuses   = []string{"PAYED"}
	// EXIPRED (sic) is the only published spelling: EXPIRED is rejected.
	SmartsPurchaseControlStatuses = []string{"PASSED", "FAILED", "PENDING", "EXIPRED", "FAILED_ALLOW_PAYMENT"}
	SmartsShipmentStatuses        = []string{"DRAFT", "PAYMENT_FAILED", "WAITING_FOR_CONFIRMATION", "CONFIRMED",
		"ASSEMBLE_READY", "SHIPPING", "READY_TO_PICKUP", "CANCELLED_BY_CLIENT", "CANCELLED_BY_INSTITUTION",
		"COMPLETED", "MISSED"}
	// SmartsHealthStatuses: HealthStatus is not published; Smarts' SDK is a
	// Spring Boot starter, so these are Spring Boot Actuator's status codes.
	SmartsHealthStatuses = []string{"UP", "DOWN", "OUT_OF_SERVICE", "UNKNOWN"}
)

// SmartsTime is a time of day as Smarts' inspections carry it: the object
// table says HH:MM, the examples send HH:MM:SS; both are accepted.
var SmartsTime = &Format{Name: "smarts-time", Pattern: "^([01][0-9]|2[0-3]):[0-5][0-9](:[0-5][0-9])?$",
	Hint: "must be a time HH:MM or HH:MM:SS",
	Match: func(s string) bool {
		if len(s) == 8 {
			return s[5] == ':' && HHMM.Match(s[:5]) && isDigit(s[6]) && isDigit(s[7]) && s[6:] <= "59"
		}
		return HHMM.Match(s)
	}}

// smartsAt joins an object path and a field name ("" is the scope itself).
func smartsAt(obj, name string) string {
	if obj == "" {
		return name
	}
	return obj + "." + name
}

// smartsReq marks a field that the published table requires within its
// object. When that object sits under an optional object (under != ""), the
// field is required whenever under is present: a dotted Req path would
// otherwise make every ancestor required.
func smartsReq(f *Field, under string) *Field {
	if under == "" {
		return f.Req()
	}
	return f.ReqWhen(under)
}

func smartsTranslatable(p string) []*Field {
	return []*Field{
		Obj(p),
		Str(smartsAt(p, "originalText")).Doc("Text in the store's original language"),
		Arr(smartsAt(p, "translations")).Doc("List of {langCode: text} objects"),
	}
}

// smartsVAT is VAT (all four Req) when full, TotalVAT (no VATRate) otherwise.
func smartsVAT(p, under string, full bool) []*Field {
	fs := []*Field{
		smartsReq(Obj(p), under),
		smartsReq(Num(smartsAt(p, "sumWithoutVAT")), under),
		smartsReq(Num(smartsAt(p, "VATSum")), under),
		smartsReq(Num(smartsAt(p, "sumWithVAT")), under),
	}
	if full {
		fs = append(fs, smartsReq(Int(smartsAt(p, "VATRate")), under).Range(0, 100).Doc("VAT rate in percent"))
	}
	return fs
}

// smartsPrice is Price: addition Opt, vat Req, total Req.
func smartsPrice(p, under string) []*Field {
	fs := []*Field{
		smartsReq(Obj(p), under),
		Obj(smartsAt(p, "addition")),
		Str(smartsAt(p, "addition.type")).Doc("Addition type, e.g. DSC"),
		Num(smartsAt(p, "addition.sum")),
		Num(smartsAt(p, "addition.rate")),
	}
	fs = append(fs, smartsVAT(smartsAt(p, "vat"), under, true)...)
	return append(fs, smartsReq(Num(smartsAt(p, "total")), under).Doc("Final price with addition and VAT"))
}

// smartsTotal is Total: vat TotalVAT Req, totalToPay Req.
func smartsTotal(p, under string) []*Field {
	fs := []*Field{smartsReq(Obj(p), under)}
	fs = append(fs, smartsVAT(smartsAt(p, "vat"), under, false)...)
	return append(fs, smartsReq(Num(smartsAt(p, "totalToPay")), under))
}

// smartsQuantity is Quantity: unit Req enum, value Req number (or numeric string).
func smartsQuantity(p, under string) []*Field {
	return []*Field{
		smartsReq(Obj(p), under),
		smartsReq(Str(smartsAt(p, "unit")), under).OneOf(SmartsUnits...),
		smartsReq(NumStr(smartsAt(p, "value")), under).Doc(`A number; Smarts' examples send it as a string ("1.03")`),
	}
}

// smartsInspection describes one element of Product.inspections.
func smartsInspection() []*Field {
	return []*Field{
		Str("type").Req().OneOf(SmartsInspectionTypes...),
		Str("action").OneOf(SmartsInspectionActions...).Doc("INSPECT or RESTRICT (RESTICT, a misspelling in Smarts' docs, is accepted)"),
		Str("start").Fmt(SmartsTime).ReqWhen("type", "BETWEEN_TIME"),
		Str("end").Fmt(SmartsTime).ReqWhen("type", "BETWEEN_TIME"),
		Str("time").Fmt(SmartsTime).ReqWhen("type", "MIN_TIME", "MAX_TIME"),
		Str("timezone").Doc("IANA time zone, e.g. Europe/Tallinn"),
		Int("age").AtLeast(0).ReqWhen("type", "MIN_AGE"),
		Num("amount").ReqWhen("type", "MIN_AMOUNT", "MAX_AMOUNT"),
	}
}

func smartsCampaign() []*Field {
	return []*Field{Str("name"), Str("code"), Str("operation").Doc("Price expression, e.g. total >= 50 ? total * 0.98 : total")}
}

func smartsCategory() []*Field {
	fs := []*Field{Str("id"), Int("numberOfProducts").AtLeast(0), Str("parentId")}
	return append(fs, smartsTranslatable("translatableName")...)
}

// smartsProduct describes a Product at p. price and quantity are required:
// a self-scanned item cannot be sold without them, and every published
// example carries both. sub adds subProducts (one level of products).
func smartsProduct(p, under string, sub bool) []*Field {
	at := func(n string) string { return smartsAt(p, n) }
	fs := []*Field{
		Str(at("id")).Doc("Product identifier in the merchant's system"),
		Str(at("barcode")),
		Str(at("type")).Doc("Product type, e.g. SINGLE (values not published)"),
	}
	fs = append(fs, smartsTranslatable(at("translatableName"))...)
	fs = append(fs, smartsTranslatable(at("translatableDescription"))...)
	fs = append(fs, smartsQuantity(at("quantity"), under)...)
	fs = append(fs, smartsPrice(at("price"), under)...)
	fs = append(fs,
		Bool(at("weightItem")),
		Obj(at("information")),
		Str(at("information.imageUrl")),
		Arr(at("inspections"), smartsInspection()...),
		Arr(at("campaigns"), smartsCampaign()...),
		Arr(at("categories"), smartsCategory()...),
	)
	if sub {
		fs = append(fs, Arr(at("subProducts"), smartsProduct("", "", false)...).Doc("Products of a set (often null)"))
	}
	return fs
}

// smartsProducts is an array of Products at path.
func smartsProducts(path string) *Field { return Arr(path, smartsProduct("", "", true)...) }

// smartsReceiptProduct is one ReceiptProduct (not published; modelled from
// the Order example: amounts as numeric strings).
func smartsReceiptProduct() []*Field {
	return []*Field{
		Str("id"), Str("barcode"), Str("productName"),
		NumStr("amount"), NumStr("rowPrice"),
		Arr("categories", Str("id"), Str("name")),
	}
}

// smartsClientCard is a loyalty card reference as PageRequest carries it
// ({id, cardNumber, useBonusOnPayment}); ClientCard itself is not published.
func smartsClientCard() []*Field {
	return []*Field{Str("id"), Str("cardNumber"), Bool("useBonusOnPayment")}
}

// smartsShipment is Shipment (published by example; status is an enum).
func smartsShipment(p string) []*Field {
	at := func(n string) string { return smartsAt(p, n) }
	fs := []*Field{
		Obj(p),
		Str(at("method")).Doc("PARCEL, courier or pickup (values not published as an enum)"),
		Str(at("parcelId")), Str(at("name")),
		Str(at("status")).OneOf(SmartsShipmentStatuses...),
		Num(at("price")),
		Str(at("currency")).OneOf(SmartsCurrencies...),
		Str(at("expectedDeliveryUTCTime")), Str(at("createdUTCTime")),
		Str(at("contactEmail")), Str(at("contactPhone")),
		Obj(at("address")),
		Str(at("address.level1")).Doc("Country code"),
	}
	for _, l := range []string{"level2", "level3", "level4", "level5", "level6", "level7", "level8", "postalCode"} {
		fs = append(fs, Str(at("address."+l)))
	}
	return fs
}

// smartsSearch is ProductSearchRequest at p.
func smartsSearch(p string) []*Field {
	at := func(n string) string { return smartsAt(p, n) }
	return []*Field{
		Str(at("type")).Doc("Search type, e.g. SELF_SERVICE"),
		Str(at("barcode")), Str(at("name")), Str(at("categoryName")),
		Str(at("langCode")).Doc("Customer language, e.g. ET"),
		Str(at("personId")), Str(at("institutionId")),
	}
}

// smartsCart is the cart Smarts sends with create receipt and purchase
// check. CreateReceiptRequest (create) publishes langCode, personId,
// institutionId and products as required; PurchaseControlCheckRequest only
// invoiceId.
func smartsCart(create bool) Scope {
	id := func(path, doc string) *Field {
		f := Str(path).Doc(doc)
		if create {
			f.Req().Len(1, 0)
		}
		return f
	}
	products := smartsProducts("products").Doc("Products in the shopping cart")
	if create {
		products.Req()
	}
	s := scope(
		Str("invoiceId").Req().Len(1, 0).Doc("Smarts invoice identifier"),
		id("langCode", "Customer language code, e.g. ET (LangCode values are not published)"),
		id("personId", "Smarts customer unique person identifier"),
		id("institutionId", "Smarts store unique identifier"),
		products,
		Arr("loyaltyCards", smartsClientCard()...).Doc("Customer loyalty cards for the store"),
	)
	s.Fields = append(s.Fields, smartsShipment("shipment")...)
	return s
}

func smartsEndpoints() []*Endpoint {
	ep := func(op, method, path, from, to, summary string, body BodyKind, s Scope, example string) *Endpoint {
		// Bodies the node sends back to Smarts are responses.
		resp := from == "node" && to == "smarts"
		return &Endpoint{ID: "smarts." + op, Provider: Smarts, Summary: summary, Method: method, Path: path,
			From: from, To: to, Response: resp, Body: body, Scope: s, Example: example}
	}
	const (
		product = `{"id":"1ABC","barcode":"ABC-abc-1234","type":"SINGLE",` +
			`"translatableName":{"originalText":"Helen Oats 500g","translations":[{"ET":"Helen kiirkaeraheleb 500g"}]},` +
			`"translatableDescription":{"originalText":"Oats made in Estonia","translations":[{"ET":"Eestis toodetud kiirkaerahelbed"}]},` +
			`"quantity":{"unit":"KILOGRAM","value":"1.03"},` +
			`"price":{"addition":{"type":"DSC","sum":1,"rate":10},"vat":{"sumWithVAT":12,"sumWithoutVAT":10,"VATSum":2,"VATRate":20},"total":12},` +
			`"weightItem":false,"information":{"imageUrl":"https://my.outs"},` +
			`"inspections":[{"action":"INSPECT","type":"MIN_AGE","age":18},{"action":"RESTRICT","type":"MAX_TIME","time":"22:00:00","timezone":"Europe/Tallinn"}],` +
			`"campaigns":[{"name":"Big Discount Campaign","code":"B00000000501","operation":"total >= 50 ? total * 0.98 : total"}],` +
			`"subProducts":null,` +
			`"categories":[{"id":"1B","translatableName":{"originalText":"Cereals","translations":[{"ET":"Teraviljad"}]},"numberOfProducts":500,"parentId":"1A"}]}`
		shipment = `{"method":"PARCEL","parcelId":"1ABSC","name":"Ravala street parcel","status":"WAITING_FOR_CONFIRMATION",` +
			`"price":5,"currency":"EUR","expectedDeliveryUTCTime":"2019-04-20T19:30:00.000Z","createdUTCTime":"2019-04-22T19:30:00.000Z",` +
			`"contactEmail":"test@test.ee","contactPhone":"56314762",` +
			`"address":{"level1":"EE","level2":"Harjumaa","level3":"Tallinn","level4":"kesklinn","level5":"Tartu mnt.","level6":"53","level7":null,"level8":null,"postalCode":"10115"}}`
		receiptProduct = `{"id":"1ABC","barcode":"ABC-abc-1234","productName":"Helen kiirkaeraheleb 500g","amount":"1.03","rowPrice":"12","categories":[{"id":"C1","name":"Teraviljad"}]}`
		ids            = `"invoiceId":"5bd5c446ad950100018a79c0","personId":"0bcae298-867c-41af-9980-be0d8e828d3e","institutionId":"0bcae304-867c-41af-9980-be0d8e828d4s"`
		cart           = `{` + ids + `,"langCode":"ET","products":[` + product + `],"shipment":` + shipment + `}`
		search         = `{"type":"SELF_SERVICE","barcode":"1ABCS","langCode":"ET","personId":"1abcsd","institutionId":"1ABCS"}`
		nameSearch     = `{"type":"SELF_SERVICE","name":"Oats","langCode":"ET","personId":"1abcsd","institutionId":"1ABCS"}`
		catSearch      = `{"type":"SELF_SERVICE","categoryName":"Teravi","langCode":"ET","personId":"1abcsd","institutionId":"1ABCS"}`
		receipt        = `{"institutionInvoiceId":"INV-2020-0001","invoiceId":"5bd5c446ad950100018a79c0","institutionId":"0bcae304-867c-41af-9980-be0d8e828d4s",` +
			`"customerId":"0bcae298-867c-41af-9980-be0d8e828d3e","products":[` + receiptProduct + `],"currency":"EUR",` +
			`"totalWithoutAddition":13,"additionSum":1,"totalWithoutVAT":10,"vatSum":2,"total":12}`
		order = `{"id":"25252525","customerId":"25325","invoiceId":"36536363563","institutionId":"20494","institutionInvoiceId":"323232342",` +
			`"resolverId":"abc323","shipment":` + shipment + `,"products":[` + receiptProduct + `],"currency":"EUR","orderTotalPrice":17,` +
			`"create":"2020-04-04","closed":"2020-04-04",` +
			`"statusChangelogs":[{"personName":"Test Employee","previousStatus":"WAITING_FOR_CONFIRMATION","newStatus":"CONFIRMED","created":"2020-04-04"}]}`
		loyalty = `{"loyaltyCard":{"id":"1234","imageId":null,"type":"BONUS","canUseBonusPointsForPayment":true,` +
			`"name":{"originalText":"Bonus card","translations":[{"ET":"Boonus kaart"}]},` +
			`"description":{"originalText":"For special clients","translations":[{"ET":"Preemiumkliendi kaart"}]},` +
			`"validationTypes":["CARD_NUMER","IDCODE"],"colorTheme":"DARK","primary":true,"colors":["#fff","#000"]},` +
			`"value":"22103944833292","personId":"123545454","personEmail":"test@test.ee","personName":"TestUser"}`
		invoice = `{"id":"5bd5c446ad950100018a79c0","seller":{"name":"Demo Store"},"buyer":{"name":"TestUser"},"status":"PAYED",` +
			`"createdAt":1586000000,"closedAt":1586000300,"products":[` + product + `],"currency":"EUR",` +
			`"total":{"vat":{"sumWithVAT":12,"sumWithoutVAT":10,"VATSum":2},"totalToPay":12},` +
			`"institutionCampaigns":[{"name":"Big Discount Campaign","code":"B00000000501","operation":"total >= 50 ? total * 0.98 : total"}]}`
		offers = `[{"id":"O1","title":{"originalText":"Oats -10%","translations":[{"ET":"Kaerahelbed -10%"}]},"startDate":"2020-04-01","endDate":"2020-04-30",` +
			`"type":"DISCOUNT","imageUri":"https://example.com/oats.png","discountPercentage":10,"offerPrice":10.8,"defaultPrice":12},` +
			`{"id":"O2","title":{"originalText":"Oats with milk"},"type":"PRODUCT_RELATED","relatedProduct":` + product + `}]`
	)

	searchScope := scope(smartsSearch("")...)
	barcodeSearch := scope(smartsSearch("")...)
	for _, f := range barcodeSearch.Fields {
		if f.Path == "barcode" {
			f.Req().Len(1, 0).Doc("Barcode to look up (a barcode search without one cannot be answered)")
		}
	}

	pageReq := scope(
		Int("page").AtLeast(1).Doc("Page number, 1-based"),
		Int("limit").AtLeast(1).Doc("Page size"),
		Str("orderBy").Doc(`Sort direction; the docs' example sends "ACS"`),
		Str("orderFieldName"),
		Obj("request").Doc("The ProductSearchRequest"),
		Arr("loyaltyCards", smartsClientCard()...),
	)
	pageReq.Fields = append(pageReq.Fields, smartsSearch("request")...)
	pageable := scope(
		smartsProducts("result").Req(),
		Int("lastPage").AtLeast(0),
		Int("totalCount").AtLeast(0),
	)

	invoice0 := scope(
		Str("id").Req().Len(1, 0).Doc("Smarts invoice identifier"),
		Obj("seller").Doc("SellerParty (not published)"),
		Obj("buyer").Doc("BuyerParty (not published)"),
		Str("status").Req().OneOf(SmartsInvoiceStatuses...),
		Num("createdAt").AtLeast(0).Doc("Unix timestamp (UTC)"),
		Num("closedAt").AtLeast(0).Doc("Unix timestamp (UTC)"),
		smartsProducts("products").Req(),
		Str("currency").Req().OneOf(SmartsCurrencies...),
		Arr("institutionCampaigns", smartsCampaign()...),
	)
	invoice0.Fields = append(invoice0.Fields, smartsTotal("total", "")...)

	receipt0 := scope(
		Str("institutionInvoiceId").Req().Len(1, 0).Doc("The merchant's invoice identifier"),
		Str("invoiceId").Req().Len(1, 0).Doc("Smarts invoice identifier"),
		Str("institutionId").Req().Len(1, 0),
		Str("customerId").Req().Len(1, 0),
		Arr("products", smartsReceiptProduct()...).Req().Doc("ReceiptProduct (not published)"),
		Arr("loyaltyCards").Doc("ReceiptLoyaltyCard (not published)"),
		Str("currency").Req().OneOf(SmartsCurrencies...),
		Num("totalWithoutAddition").Req(),
		Num("additionSum").Req(),
		Num("totalWithoutVAT").Req(),
		Num("vatSum").Req(),
		Num("total").Req().Doc("Total to pay"),
	)
	receipt0.Fields = append(receipt0.Fields, smartsShipment("shipment")...)

	confirm := scope(
		Str("invoiceId").Req().Len(1, 0).Doc("Smarts invoice identifier"),
		Str("institutionInvoiceId"), Str("institutionId"), Str("personId"), Str("customerId"),
	)

	checkResp := scope(
		Str("invoiceId").Len(1, 0),
		Bool("checkNeeded").Doc("Whether the customer must go through a purchase check (field name assumed: PurchaseControlCheckResponse is not published)"),
		Str("status").OneOf(SmartsPurchaseControlStatuses...),
	)
	result := scope(
		Str("invoiceId").Req().Len(1, 0),
		Str("institutionId").Req().Len(1, 0),
		smartsProducts("products").Doc("Only when the supervisor changed the cart"),
		Str("status").Req().OneOf(SmartsPurchaseControlStatuses...).Doc("EXIPRED is Smarts' published spelling"),
	)
	resend := scope(Str("invoiceId").Len(1, 0), Str("institutionId").Len(1, 0))

	bonus := `loyaltyCard.type`
	loyaltyReq := scope(
		Obj("loyaltyCard").Req(),
		Str("loyaltyCard.id").Req().Len(1, 0),
		Str("loyaltyCard.type").Req().Len(1, 0).Doc("LoyaltyCardType, e.g. BONUS"),
		Bool("loyaltyCard.canUseBonusPointsForPayment").ReqWhen(bonus, "BONUS"),
		Str("loyaltyCard.imageId"),
		Obj("loyaltyCard.name").ReqWhen(bonus, "BONUS"),
		ArrOf("loyaltyCard.validationTypes", Str("")).ReqWhen(bonus, "BONUS").Doc("e.g. CARD_NUMER (sic), IDCODE"),
		Str("loyaltyCard.colorTheme").ReqWhen(bonus, "BONUS").Doc("e.g. DARK (values not published)"),
		Bool("loyaltyCard.primary").ReqWhen(bonus, "BONUS"),
		ArrOf("loyaltyCard.colors", Str("")).ReqWhen(bonus, "BONUS"),
		Str("value").Req().Len(1, 0).Doc("What the customer entered: card number, id code, ..."),
		Str("personId"), Str("personEmail"), Str("personName"),
	)
	loyaltyReq.Fields = append(loyaltyReq.Fields, smartsTranslatable("loyaltyCard.name")[1:]...)
	loyaltyReq.Fields = append(loyaltyReq.Fields, smartsTranslatable("loyaltyCard.description")...)
	clientCard := scope(smartsClientCard()...)
	bonusReq := scope(append(smartsClientCard(), Str("personId"), Str("institutionId"), Str("invoiceId"))...)

	order0 := scope(
		Str("id").Req().Len(1, 0).Doc("Shipping order id"),
		Str("customerId").Req().Len(1, 0),
		Str("invoiceId"),
		Str("institutionId").Req().Len(1, 0),
		Str("institutionInvoiceId"),
		Str("resolverId").Doc("Merchant employee id"),
		Obj("shipment").Req(),
		Arr("products", smartsReceiptProduct()...).Req(),
		Str("currency").Req().OneOf(SmartsCurrencies...),
		Num("orderTotalPrice").Req(),
		Str("created").Fmt(Date).Doc("YYYY-MM-DD (the table's name; the example sends create)"),
		Str("create").Fmt(Date).Doc("YYYY-MM-DD (the example's name for created)"),
		Str("closed").Fmt(Date),
		Arr("statusChangelogs",
			Str("personName"),
			Str("previousStatus").OneOf(SmartsShipmentStatuses...),
			Str("newStatus").OneOf(SmartsShipmentStatuses...),
			Str("created").Fmt(Date),
		).Req(),
	)
	order0.Fields = append(order0.Fields, smartsShipment("shipment")[1:]...)
	statusChange := scope(
		Str("orderId").Len(1, 0),
		Str("status").OneOf(SmartsShipmentStatuses...),
		Str("personName"),
	)

	offerSearch := scope(Str("langCode"), Str("personId"), Str("institutionId"), Arr("loyaltyCards", smartsClientCard()...))
	offer := scope(
		Str("id").Req().Len(1, 0),
		Str("type").Req().Len(1, 0).Doc("OfferType: DISCOUNT, PRODUCT_RELATED, ..."),
		Obj("title").ReqWhen("type", "DISCOUNT"),
		Str("startDate").Fmt(Date), Str("endDate").Fmt(Date),
		Str("imageUri").ReqWhen("type", "DISCOUNT"),
		Int("discountPercentage").Range(0, 100).ReqWhen("type", "DISCOUNT"),
		Num("offerPrice").ReqWhen("type", "DISCOUNT"),
		Num("defaultPrice").ReqWhen("type", "DISCOUNT"),
		Obj("relatedProduct").ReqWhen("type", "PRODUCT_RELATED"),
	)
	offer.Fields = append(offer.Fields, smartsTranslatable("title")[1:]...)
	offer.Fields = append(offer.Fields, smartsProduct("relatedProduct", "relatedProduct", false)...)

	version := scope(Str("version").Req().Len(1, 0).Doc("Node version (NodeVersionResponse is not published)"))
	health := scope(Str("status").Req().OneOf(SmartsHealthStatuses...).Doc("HealthStatus is not published: Spring Boot Actuator's codes"))

	productScope := scope(smartsProduct("", "", true)...)
	const sn, sm, gw = "smarts", "node", "gateway"
	return []*Endpoint{
		ep("node-version", "GET", "/node/version", sn, sm, "Node version: Smarts asks which version the node runs", NoBody, Scope{}, ""),
		ep("node-version.response", "GET", "/node/version", sm, sn, "Node version answer", JSONBody, version, `{"version":"1.0.0"}`),
		ep("node-health", "GET", "/node/health", sn, sm, "Node health check", NoBody, Scope{}, ""),
		ep("node-health.response", "GET", "/node/health", sm, sn, "Node health answer", JSONBody, health, `{"status":"UP"}`),

		ep("product-search", "POST", "/product/search", sn, sm, "Pageable product search: PageRequest<ProductSearchRequest>", JSONBody, pageReq,
			`{"page":1,"limit":50,"orderBy":"ACS","orderFieldName":"barcode","request":`+catSearch+`,"loyaltyCards":[{"id":"1aBc","cardNumber":"1234567","useBonusOnPayment":false}]}`),
		ep("product-search.response", "POST", "/product/search", sm, sn, "Pageable<Product>", JSONBody, pageable,
			`{"result":[`+product+`],"lastPage":100,"totalCount":500}`),
		ep("product-search-barcode", "POST", "/product/search/barcode", sn, sm, "Barcode search: ProductSearchRequest", JSONBody, barcodeSearch, search),
		ep("product-search-barcode.response", "POST", "/product/search/barcode", sm, sn, "The Product with that barcode", JSONBody, productScope, product),
		ep("product-search-name", "POST", "/product/search/name", sn, sm, "Name search: ProductSearchRequest", JSONBody, searchScope, nameSearch),
		ep("product-search-name.response", "POST", "/product/search/name", sm, sn, "List<Product> (a JSON array)", ArrayBody, productScope, `[`+product+`]`),
		ep("product-search-category", "POST", "/product/search/category", sn, sm, "Category search: ProductSearchRequest", JSONBody, searchScope, catSearch),
		ep("product-search-category.response", "POST", "/product/search/category", sm, sn, "List<Product> (a JSON array)", ArrayBody, productScope, `[`+product+`]`),
		ep("product", "POST", "/product/search/barcode", sm, sn, "A Product object (what barcode search answers; reusable wherever a Product is sent)", JSONBody, productScope, product),

		ep("invoice", "POST", "/invoice", sn, sm, "Receive invoice: the paid Invoice (keep a copy: Smarts keeps it two months)", JSONBody, invoice0, invoice),

		ep("create-receipt", "POST", "/receipt", sn, sm, "Create receipt: CreateReceiptRequest (merchant side invoicing)", JSONBody, smartsCart(true), cart),
		ep("create-receipt.response", "POST", "/receipt", sm, sn, "The Receipt the merchant generates", JSONBody, receipt0, receipt),
		ep("receipt", "POST", "/receipt", sm, sn, "Receipt (the create receipt answer)", JSONBody, receipt0, receipt),
		ep("receipt-confirm", "POST", "/receipt/confirm", sn, sm, "Confirm receipt payment: ReceiptPaymentConfirmationRequest (not published; invoiceId required)", JSONBody, confirm,
			`{"invoiceId":"5bd5c446ad950100018a79c0","institutionInvoiceId":"INV-2020-0001","institutionId":"0bcae304-867c-41af-9980-be0d8e828d4s"}`),

		ep("purchase-control-check", "POST", "/control/check", sn, sm, "Receive purchase check: PurchaseControlCheckRequest (the cart)", JSONBody, smartsCart(false), cart),
		ep("purchase-control-check.response", "POST", "/control/check", sm, sn,
			"PurchaseControlCheckResponse (not published): modelled as {invoiceId, checkNeeded, status}, all optional and type-checked when present", JSONBody, checkResp,
			`{"invoiceId":"5bd5c446ad950100018a79c0","checkNeeded":true,"status":"PENDING"}`),
		ep("purchase-control-result", "POST", "/gateway/control/result", sm, gw, "Send purchase check result: PurchaseControlResult (to {gateway}/control/result)", JSONBody, result,
			`{"invoiceId":"5bd5c446ad950100018a79c0","institutionId":"0bcae304-867c-41af-9980-be0d8e828d4s","status":"PASSED"}`),
		ep("purchase-control-resend", "POST", "/gateway/control/resend", sm, gw,
			"Ask for purchase check data resend: PurchaseControlCheckResendRequest (path and body not published; lenient)", JSONBody, resend,
			`{"invoiceId":"5bd5c446ad950100018a79c0","institutionId":"0bcae304-867c-41af-9980-be0d8e828d4s"}`),

		ep("loyalty-card-registration", "POST", "/card/loyalty", sn, sm, "Loyalty card registration: LoyaltyCardRegistrationRequest", JSONBody, loyaltyReq, loyalty),
		ep("loyalty-card-registration.response", "POST", "/card/loyalty", sm, sn,
			"LoyaltyCardRegistrationResponse (not published): the client card {id, cardNumber, useBonusOnPayment}, lenient", JSONBody, clientCard,
			`{"id":"1234","cardNumber":"22103944833292","useBonusOnPayment":false}`),
		ep("loyalty-card-bonus", "POST", "/card/loyalty/bonus", sn, sm, "Loyalty card bonus: LoyaltyCardBonusRequest (not published; lenient)", JSONBody, bonusReq,
			`{"id":"1234","cardNumber":"22103944833292","personId":"123545454","institutionId":"1ABCS"}`),
		ep("loyalty-card-bonus.response", "POST", "/card/loyalty/bonus", sm, sn, "LoyaltyCardBonusResponse (not published; lenient)", JSONBody, clientCard,
			`{"id":"1234","cardNumber":"22103944833292","useBonusOnPayment":true}`),

		ep("order", "POST", "/pickup/order", sn, sm, "Receive order (home delivery): Order", JSONBody, order0, order),
		ep("order-update", "POST", "/pickup/order/update", sn, sm, "Receive order update: Order", JSONBody, order0, order),
		ep("order-status-change", "POST", "/gateway/pickup/order/status", sm, gw,
			"Update order status: PickupOrderStatusChangeRequest (path and body not published; lenient)", JSONBody, statusChange,
			`{"orderId":"25252525","status":"CONFIRMED","personName":"Test Employee"}`),

		ep("offers-search", "POST", "/offers/search", sn, sm, "Find offers: OfferSearchRequest (not published; lenient)", JSONBody, offerSearch,
			`{"langCode":"ET","personId":"1abcsd","institutionId":"1ABCS"}`),
		ep("offers-search.response", "POST", "/offers/search", sm, sn, "List of offers (DiscountOffer, ProductRelatedOffer, ...), a JSON array", ArrayBody, offer, offers),
	}
}
