package spec

// Payneteasy Direct API (and its white labels), PROVIDERS.md section 1.
//
// Sale, transfer and card verification follow one pattern; the differences
// are listed in flows below and the endpoints are generated from it, so a
// rule fixed for one flow is fixed for all three.

// Flow is one of the three DAPI flows.
type Flow struct {
	Name   string // sale, transfer, verification
	Amount bool   // the flow moves money (transactions carry amountCentis)
	Dest   bool   // the flow has a destination card (transfer)
}

// Flows lists the DAPI flows in the order they are documented.
var Flows = []Flow{
	{Name: "sale", Amount: true},
	{Name: "transfer", Amount: true, Dest: true},
	{Name: "verification"},
}

// DAPI state and error enumerations.
var (
	DAPIStates       = []string{"PROCESSING", "REDIRECT_REQUEST", "APPROVED", "DECLINED"}
	DAPIErrorCauses  = []string{"FILTERED", "INVALID_REQUEST", "SERVER_FAILED", "SERVER_UNAVAILABLE", "INTERNAL_ERROR", "PROCESSING_FAILED", "ORDER_NOT_FOUND", "DECLINED", "INVALID_CONFIGURATION"}
	Secure3DStatuses = []string{"AUTHENTICATED", "NOT_AUTHENTICATED", "UNSUPPORTED", "UNKNOWN"}
	RandomSumStatus  = []string{"AUTHENTICATED", "NOT_AUTHENTICATED"}
)

func accessToken() *Field {
	return Str("session.accessToken").Req().Len(32, 128).Doc("Consumer's access token issued by the merchant")
}
func serialNumber() *Field {
	return Str("consumer.device.serialNumber").Req().Len(1, 50).Doc("Consumer's device serial number")
}
func sessionToken() *Field {
	return Str("session.token").Req().Len(16, 36).Doc("The gateway's session token of the transaction")
}

// fundsFields describes sourceOfFunds or destinationOfFunds in a Perform
// request: exactly one of a full card or a saved-card reference.
func fundsFields(prefix string, required bool) []*Field {
	card, ref := prefix+".card", prefix+".reference"
	obj := Obj(prefix)
	if required {
		obj.Req()
	}
	return []*Field{
		obj,
		Obj(card),
		Str(card+".number").Len(9, 19).Fmt(CardNumber).ReqWhen(card).Doc("Card number (PAN)"),
		Str(card+".securityCode").Len(3, 4).Fmt(Digits).Doc("CVV2/CVC2"),
		NumStr(card+".expiry.month").Range(1, 12).ReqWhen(card).Doc("Expiry month, 1-12"),
		NumStr(card+".expiry.year").Range(1000, 9999).ReqWhen(card).Doc("Expiry year, 4 digits"),
		Str(card+".holder.firstName").Len(1, 50),
		Str(card+".holder.lastName").Len(1, 50),
		Str(card+".holder.printedName").Len(1, 100),
		Obj(ref),
		Str(ref+".clientCardId").Len(1, 128).ReqWhen(ref).Doc("The merchant's card reference from a card mapping"),
		Str(ref+".securityCode").Len(3, 4).Fmt(Digits),
	}
}

func payneteasyFlow(fl Flow) []*Endpoint {
	n := fl.Name
	pre := "/" + n
	ep := func(op, method, path, from, to, summary string, resp bool, s Scope, example string) *Endpoint {
		return &Endpoint{ID: "payneteasy." + op, Provider: Payneteasy, Summary: summary, Method: method, Path: path,
			From: from, To: to, Response: resp, Scope: s, Example: example}
	}
	statusPath := "/dapi/v1/" + n + "/{endpointId}/{invoiceId}/status"

	// Initiate: app -> merchant.
	initiate := scope(
		serialNumber(),
		Str("consumer.device.imei").Len(14, 16),
		ArrOf("consumer.ipAddresses", Str("").Len(7, 15)),
		Str("transaction.currency").Req().Fmt(Currency).Doc("ISO 4217 alphabetic code, upper case"),
		accessToken(),
		Num("location.lat").Range(-90, 90),
		Num("location.lng").Range(-180, 180),
	)
	initExample := `{"consumer":{"device":{"serialNumber":"SN-0001"}},"transaction":{"amountCentis":1000,"currency":"EUR"},"session":{"accessToken":"demo-access-token-0123456789abcdef0123"}}`
	if fl.Amount {
		initiate.Fields = append(initiate.Fields, Int("transaction.amountCentis").Req().Range(1, 1<<53).Doc("Amount in minor units (1.00 EUR = 100)"))
	} else {
		initExample = `{"consumer":{"device":{"serialNumber":"SN-0001"}},"transaction":{"currency":"EUR"},"session":{"accessToken":"demo-access-token-0123456789abcdef0123"}}`
	}
	initiateResp := scope(
		Str("endpointId").Req().Len(1, 0),
		Str("invoiceId").Req().Len(1, 0),
		Str("session.nonce").Req().Len(32, 128),
		Str("session.signature").Req().Fmt(Hex40),
	)

	// Perform: app -> gateway, validated in the app by the same core.
	perform := scope(
		serialNumber(),
		Str("consumer.email").Len(3, 128),
		accessToken(),
		Str("session.nonce").Req().Len(32, 128),
		Str("session.signature").Req().Len(32, 128),
	)
	perform.Fields = append(perform.Fields, fundsFields("sourceOfFunds", true)...)
	perform.Groups = append(perform.Groups,
		Group{Kind: ExactlyOne, Paths: []string{"sourceOfFunds.card", "sourceOfFunds.reference"}})
	if fl.Dest {
		perform.Fields = append(perform.Fields, fundsFields("destinationOfFunds", false)...)
		perform.Groups = append(perform.Groups,
			Group{Kind: AtMostOne, Paths: []string{"destinationOfFunds.card", "destinationOfFunds.reference"}})
	}

	// Check: gateway -> merchant.
	check := scope(
		serialNumber(),
		accessToken(),
		Str("session.nonce").Req().Len(32, 128),
		Str("session.signature").Req().Len(32, 128),
		sessionToken(),
		Str("sourceOfFunds.reference.clientCardId").Len(1, 128),
	)
	checkResp := scope(
		Str("invoiceId").Req(),
		Str("session.checkSignature").Req().Fmt(Hex40),
		Str("session.nonce").Req(),
		Str("session.token").Req(),
		Str("consumer.email").Len(3, 128),
		Obj("sourceOfFunds.card"),
		Obj("sourceOfFunds.reference"),
		Str("sourceOfFunds.reference.serverCardId").Len(1, 64),
		Str("transaction.currency").Fmt(Currency),
		Int("transaction.randomSumCentis").AtLeast(0),
	)
	checkResp.Groups = append(checkResp.Groups, Group{Kind: AtMostOne, Paths: []string{"sourceOfFunds.card", "sourceOfFunds.reference"}})
	if fl.Dest {
		check.Fields = append(check.Fields, Str("destinationOfFunds.reference.clientCardId").Len(1, 128))
		checkResp.Fields = append(checkResp.Fields, Str("destinationOfFunds.reference.serverCardId").Len(1, 64))
	}

	// Status: app -> gateway (kassa relays it).
	status := scope(accessToken(), sessionToken())
	statusResp := scope(
		Str("invoiceId").Req(),
		Str("session.token").Req(),
		Str("state").Req().OneOf(DAPIStates...),
		Str("bankOrderId").Len(0, 128).ReqWhen("state", "APPROVED", "DECLINED"),
		Str("redirectUrl").Len(0, 128).ReqWhen("state", "REDIRECT_REQUEST"),
		AnyOf("orderId"),
		Int("transaction.amountCentis"),
		Int("transaction.commissionCentis"),
		Str("transaction.orderCreatedDate"),
		Str("transaction.transactionCreatedDate"),
		Int("errorCode"),
		Str("errorMessage").Len(0, 128),
		Str("secure3DAuthStatus").OneOf(Secure3DStatuses...),
		Str("randomSumAuthStatus").OneOf(RandomSumStatus...),
	)

	// Card mapping notification: gateway -> merchant.
	notif := scope(
		serialNumber(),
		accessToken(),
		sessionToken(),
		Int("sourceCard.bin"),
		Str("sourceCard.reference.serverCardId").Len(1, 64),
		Int("sourceCard.reference.uniqueReferenceCardId"),
	)
	notifResp := scope(
		Str("invoiceId").Req(),
		Str("session.checkSignature").Req().Fmt(Hex40),
		Str("session.nonce").Req(),
		Str("session.token").Req(),
	)

	performOp, checkOp, statusOp, notifOp := "perform-"+n, "check-"+n, n+"-status", n+"-notification"
	return []*Endpoint{
		ep("initiate-"+n, "POST", pre+"/initiate-"+n, "app", "merchant", "Initiate "+n+": the app asks the merchant for a signed session", false, initiate, initExample),
		ep("initiate-"+n+".response", "POST", pre+"/initiate-"+n, "merchant", "app", "Initiate "+n+" answer: endpointId, invoiceId, nonce and signature", true, initiateResp,
			`{"endpointId":"1111","invoiceId":"inv-1","session":{"nonce":"0123456789abcdef0123456789abcdef","signature":"691668E3E8E240825AAC13DDD5219C64F7371B38"}}`),
		ep(performOp, "POST", "/dapi/v1/"+n+"/{endpointId}/{invoiceId}", "app", "gateway", "Perform "+n+": card data from the app straight to the gateway (never through kassa)", false, perform,
			`{"consumer":{"device":{"serialNumber":"SN-0001"}},"session":{"accessToken":"demo-access-token-0123456789abcdef0123","nonce":"0123456789abcdef0123456789abcdef","signature":"691668E3E8E240825AAC13DDD5219C64F7371B38"},"sourceOfFunds":{"card":{"number":"4111111111111111","securityCode":"123","expiry":{"month":12,"year":2030},"holder":{"firstName":"JOHN","lastName":"SMITH"}}}}`),
		ep(checkOp, "POST", pre+"/{invoiceId}/check", "gateway", "merchant", "Check "+n+": the gateway shows the merchant what the app sent", false, check,
			`{"consumer":{"device":{"serialNumber":"SN-0001"}},"session":{"accessToken":"demo-access-token-0123456789abcdef0123","nonce":"0123456789abcdef0123456789abcdef","signature":"691668E3E8E240825AAC13DDD5219C64F7371B38","token":"tok-0123456789abcdef"}}`),
		ep(checkOp+".response", "POST", pre+"/{invoiceId}/check", "merchant", "gateway", "Check "+n+" answer with the merchant's checkSignature", true, checkResp,
			`{"invoiceId":"inv-1","session":{"checkSignature":"6AB5507CD443DCA47A906619E53CF855956D9D64","nonce":"0123456789abcdef0123456789abcdef","token":"tok-0123456789abcdef"}}`),
		ep(statusOp, "POST", statusPath, "app", "gateway", "Status of the "+n+", polled by the app (kassa relays it)", false, status,
			`{"session":{"accessToken":"demo-access-token-0123456789abcdef0123","token":"tok-0123456789abcdef"}}`),
		ep(statusOp+".response", "POST", statusPath, "gateway", "app", "Status answer", true, statusResp,
			`{"invoiceId":"inv-1","session":{"token":"tok-0123456789abcdef"},"state":"APPROVED","bankOrderId":"bank-1","transaction":{"amountCentis":1000}}`),
		ep(notifOp, "POST", pre+"/notification", "gateway", "merchant", "Card mapping notification: the gateway's serverCardId for the card used", false, notif,
			`{"consumer":{"device":{"serialNumber":"SN-0001"}},"session":{"accessToken":"demo-access-token-0123456789abcdef0123","token":"tok-0123456789abcdef"},"sourceCard":{"bin":411111,"reference":{"serverCardId":"srv-card-1","uniqueReferenceCardId":42}}}`),
		ep(notifOp+".response", "POST", pre+"/notification", "merchant", "gateway", "Card mapping notification answer", true, notifResp,
			`{"invoiceId":"inv-1","session":{"checkSignature":"34334D9F7ECDFE2E42F082EB35D5F8558C6DF156","nonce":"0123456789abcdef0123456789abcdef","token":"tok-0123456789abcdef"}}`),
	}
}

func payneteasyEndpoints() []*Endpoint {
	var eps []*Endpoint
	for _, fl := range Flows {
		eps = append(eps, payneteasyFlow(fl)...)
	}
	errScope := scope(
		Obj("error").Req(),
		Str("error.cause").Req().OneOf(DAPIErrorCauses...),
		Str("error.code").Req(),
		Str("error.message"),
		Str("invoiceId"),
	)
	return append(eps,
		&Endpoint{ID: "payneteasy.error", Provider: Payneteasy, Summary: "The error shape of every DAPI endpoint",
			Method: "POST", Path: "/", From: "any", To: "any", Response: true, Scope: errScope,
			Example: `{"error":{"cause":"INVALID_REQUEST","code":"kassa.invalid","message":"session.token: required"},"invoiceId":"inv-1"}`},
		&Endpoint{ID: "payneteasy.callback", Provider: Payneteasy, Summary: "Classic final-status callback (query string)",
			Method: "GET", Path: "/callback", From: "gateway", To: "merchant", Body: NoBody,
			Query: []*Field{
				Str("status").Req().Len(1, 32).Fmt(Text),
				Str("type").Len(1, 32).Fmt(Text),
				Str("orderid").Req().Len(1, 128).Fmt(Text),
				Str("merchant_order").Len(0, 128).Fmt(Text),
				Str("client_orderid").Req().Len(1, 128).Fmt(Text),
				Str("amount").Len(0, 32).Fmt(Text),
				Str("control").Req().Fmt(Hex40),
			},
		},
	)
}
