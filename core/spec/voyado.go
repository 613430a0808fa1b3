package spec

// Voyado Elevate 3 and 4 notifications, PROVIDERS.md section 3.
//
// Elevate 3 (Web API v2) notifications carry the visitor in the query
// string (esales.market, esales.customerKey, esales.sessionKey); Elevate 4
// uses the Storefront API v3 (market, customerKey, sessionKey, userContext)
// and moves the server-side payment to the Admin API. Every notification
// answers 204 on success and 400 on missing or invalid arguments.

// VoyadoUserContexts are the Elevate 4 storefront userContext values
// (PERSONALIZED is the default when the parameter is absent).
var VoyadoUserContexts = []string{"PERSONALIZED", "UNPERSONALIZED", "ANONYMOUS", "SYNTHETIC"}

// voyadoKey is a market, customer or session key in a query string. The
// docs show UUIDs for the keys, but integrations use their own ids: any
// non-empty string up to 128 characters is accepted.
func voyadoKey(name, doc string) *Field { return Str(name).Req().Len(1, 128).Doc(doc) }

// voyadoV2Query is the query string of every Elevate 3 v2 notification.
func voyadoV2Query() []*Field {
	return []*Field{
		voyadoKey("esales.market", "Visitor market, e.g. UK"),
		voyadoKey("esales.customerKey", "Visitor id (a UUID in the docs; not enforced)"),
		voyadoKey("esales.sessionKey", "Session id (a UUID in the docs; not enforced)"),
	}
}

// voyadoStorefrontQuery is the query string of the Elevate 4 storefront
// notifications. customerKey and sessionKey are Required and also
// forbidden for the contexts that must not carry them: a matching
// MustBeAbsent condition takes precedence over Required, so the pair reads
// "required unless userContext is ...; forbidden then".
func voyadoStorefrontQuery() []*Field {
	return []*Field{
		voyadoKey("market", "Visitor market"),
		voyadoKey("customerKey", "Visitor id; required unless userContext is ANONYMOUS or UNPERSONALIZED, and forbidden then").
			ForbidWhen("userContext", "ANONYMOUS", "UNPERSONALIZED"),
		voyadoKey("sessionKey", "Session id; required unless userContext is ANONYMOUS, and forbidden then").
			ForbidWhen("userContext", "ANONYMOUS"),
		Str("userContext").OneOf(VoyadoUserContexts...).Doc("PERSONALIZED when absent"),
	}
}

// voyadoAdminQuery is the query string of the Admin API payment.
func voyadoAdminQuery() []*Field {
	return []*Field{
		voyadoKey("market", "Visitor market"),
		voyadoKey("customerKey", "Visitor id"),
		voyadoKey("sessionKey", "Session id"),
	}
}

// voyadoCostBelowPrice is the published rule on cost: a non-zero value less
// than sellingPrice (cost > 0 is on the field itself).
var voyadoCostBelowPrice = Check{
	Name: "cost < sellingPrice",
	Rule: RuleRange,
	Fn: func(get func(string) Value) (string, string, bool) {
		c, s := get("cost"), get("sellingPrice")
		if !c.Present || !c.IsNum || !s.Present || !s.IsNum || c.Num < s.Num {
			return "", "", true
		}
		return "cost", "must be less than sellingPrice", false
	},
}

// voyadoNoCost forbids cost in the non-secure payment notification, which
// cannot carry it (only the Api-Key secured notification may).
var voyadoNoCost = Check{
	Name: "no cost without Api-Key",
	Rule: RuleConditional,
	Fn: func(get func(string) Value) (string, string, bool) {
		if get("cost").Present {
			return "cost", "is only accepted in the secure payment notification (with Api-Key)", false
		}
		return "", "", true
	},
}

// voyadoLines is the lines array of a payment notification. key is the
// line's identification: "" for productKey and/or variantKey (Elevate 3),
// "variantKey" for the Admin API (lines keyed by variant). cost says
// whether the line may carry a cost.
func voyadoLines(variantOnly, cost bool) *Field {
	var items []*Field
	if variantOnly {
		items = append(items, Str("variantKey").Req().Len(1, 0).Doc("The variant's key"))
	} else {
		items = append(items,
			Str("productKey").Len(1, 0).Doc("The product's key; not needed when variantKey is set"),
			Str("variantKey").Len(1, 0).Doc("The variant's key; not needed when productKey is set"),
		)
	}
	items = append(items,
		Int("quantity").Req().AtLeast(1).Doc("Quantity purchased"),
		Num("sellingPrice").Req().AtLeast(0).Doc("Selling price"),
	)
	if cost {
		items = append(items, Num("cost").Above(0).Doc("Cost: a non-zero value less than sellingPrice; left out when unknown"))
	} else {
		// Declared so that the no-cost check sees it (checks read declared
		// fields only); any value is reported by that check.
		items = append(items, AnyOf("cost").Doc("Not accepted without Api-Key: use the secure payment notification"))
	}
	f := Arr("lines", items...).Req().Size(1, 0).Doc("Order lines; at least one")
	if !variantOnly {
		f.Group(AtLeastOne, "productKey", "variantKey")
	}
	if cost {
		f.Check(voyadoCostBelowPrice)
	} else {
		f.Check(voyadoNoCost)
	}
	return f
}

func voyadoEndpoints() []*Endpoint {
	const (
		v2  = "/api/v2/notifications/"
		sf  = "/api/storefront/v3/notifications/"
		adm = "/api/admin/v4/notifications/payment"
	)
	ep := func(op, path, from, summary string, body BodyKind, s Scope, query []*Field, example string) *Endpoint {
		return &Endpoint{ID: "voyado." + op, Provider: Voyado, Summary: summary, Method: "POST", Path: path,
			From: from, To: "cluster", Body: body, Scope: s, Query: query, Example: example}
	}
	ticket := func() Scope {
		return scope(Str("ticket").Req().Len(1, 0).Doc("The ticket Elevate returned with the product or ad"))
	}
	keys := func(k GroupKind) Scope {
		s := scope(
			Str("productKey").Len(1, 0).Doc("The product's key"),
			Str("variantKey").Len(1, 0).Doc("The variant's key"),
		)
		s.Groups = append(s.Groups, Group{Kind: k, Paths: []string{"productKey", "variantKey"}})
		return s
	}
	removeAllTrue := Check{
		Name: "removeAll is true",
		Rule: RuleEnum,
		Fn: func(get func(string) Value) (string, string, bool) {
			if v := get("removeAll"); v.Present && v.Str != "true" {
				return "removeAll", "must be true (send the items to remove instead)", false
			}
			return "", "", true
		},
	}
	removeAll := func(list string) Scope {
		s := scope(
			ArrOf(list, Str("").Len(1, 0)).Doc("Items to remove"),
			Bool("removeAll").Doc("true removes everything"),
		)
		s.Groups = append(s.Groups, Group{Kind: ExactlyOne, Paths: []string{list, "removeAll"}})
		s.Checks = append(s.Checks, removeAllTrue)
		return s
	}

	const (
		payment   = `{"lines":[{"productKey":"P1","quantity":1,"sellingPrice":10.35,"cost":5.1,"variantKey":"V1"}]}`
		payment0  = `{"lines":[{"productKey":"P1","variantKey":"V1","quantity":2,"sellingPrice":20.0}]}`
		ticketEx  = `{"ticket":"OzE7MTIzNDU2Nzg5MDsxOzA7"}`
		keysEx    = `{"productKey":"shirt_79709","variantKey":"shirt_red_7980"}`
		productEx = `{"productKey":"shirt_79709"}`
		adminEx   = `{"lines":[{"variantKey":"shirt_red_7980","quantity":2,"sellingPrice":20.0,"cost":15.2}]}`
	)
	v2q, sfq := voyadoV2Query, voyadoStorefrontQuery
	return []*Endpoint{
		// Elevate 3, Web API v2.
		ep("secure-payment", v2+"payment", "server",
			"Secure payment notification (server side, header Api-Key): lines with quantity, sellingPrice and optional cost",
			JSONBody, scope(voyadoLines(false, true)), v2q(), payment),
		ep("payment", v2+"payment", "browser",
			"Payment notification without Api-Key (disabled by default on the cluster): cannot carry cost",
			JSONBody, scope(voyadoLines(false, false)), v2q(), payment0),
		ep("click", v2+"click", "browser", "Click on a product returned by eSales (ticket)", JSONBody, ticket(), v2q(), ticketEx),
		ep("non-esales-click", v2+"non-esales-click", "browser", "Click on a product not returned by eSales: productKey and/or variantKey",
			JSONBody, keys(AtLeastOne), v2q(), keysEx),
		ep("adding-to-cart", v2+"adding-to-cart", "browser", "Adding to cart of a product returned by eSales (ticket; path by analogy with v1)",
			JSONBody, ticket(), v2q(), ticketEx),
		ep("non-esales-adding-to-cart", v2+"non-esales-adding-to-cart", "browser", "Adding to cart of a product not returned by eSales",
			JSONBody, keys(AtLeastOne), v2q(), keysEx),
		ep("end", v2+"end", "browser", "End of the visitor's session (no body)", NoBody, Scope{}, v2q(), ""),

		// Elevate 4, Storefront API v3.
		ep("storefront.click", sf+"click", "browser", "Click (ticket)", JSONBody, ticket(), sfq(), ticketEx),
		ep("storefront.add-to-cart", sf+"add-to-cart", "browser", "Add to cart (ticket)", JSONBody, ticket(), sfq(), ticketEx),
		ep("storefront.ad-impression", sf+"ad-impression", "browser", "Ad impression (ticket)", JSONBody, ticket(), sfq(), ticketEx),
		ep("storefront.add-favorite", sf+"add-favorite", "browser", "Add a favorite: exactly one of productKey or variantKey",
			JSONBody, keys(ExactlyOne), sfq(), productEx),
		ep("storefront.remove-favorite", sf+"remove-favorite", "browser", "Remove a favorite: exactly one of productKey or variantKey",
			JSONBody, keys(ExactlyOne), sfq(), productEx),
		ep("storefront.remove-recent-searches", sf+"remove-recent-searches", "browser", "Remove recent searches: phrases, or removeAll true",
			JSONBody, removeAll("phrases"), sfq(), `{"phrases":["shirt","red shirt"]}`),
		ep("storefront.remove-recently-viewed", sf+"remove-recently-viewed", "browser", "Remove recently viewed: productKeys, or removeAll true",
			JSONBody, removeAll("productKeys"), sfq(), `{"removeAll":true}`),
		ep("storefront.end", sf+"end", "browser", "End of the visitor's session (no body)", NoBody, Scope{}, sfq(), ""),

		// Elevate 4, Admin API.
		ep("admin.payment", adm, "server",
			"Payment notification (Admin API v4, also served at /api/admin/v3/notifications/payment; header Api-Key): lines keyed by variantKey",
			JSONBody, scope(voyadoLines(true, true)), voyadoAdminQuery(), adminEx),
	}
}
