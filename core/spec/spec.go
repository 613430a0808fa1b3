// Package spec describes every provider endpoint kassa knows as data: which
// fields a request or response carries (by the providers' own dotted paths,
// the notation gjson reads), their types, lengths, ranges, enums, patterns,
// and the rules that tie fields together.
//
// The descriptions are the single source of truth: package validate enforces
// them, package openapi documents them, and the same compiled core runs in
// the proxy, the CLI, browsers and mobile apps.
//
// Where a provider publishes a rule, it is enforced strictly; where it
// publishes nothing, kassa is lenient (unknown extra fields are accepted).
package spec

import "strconv"

// Kind is the JSON type a field must have.
type Kind uint8

const (
	Any     Kind = iota // any JSON value
	String              // a JSON string
	Integer             // a JSON number without fraction or exponent that fits in int64
	Number              // any JSON number
	Numeric             // a JSON number, or a string holding a decimal number (Smarts sends "1.03")
	Boolean             // true or false
	Object              // a JSON object
	Array               // a JSON array; Items describes its elements
)

var kindNames = [...]string{"any", "string", "integer", "number", "numeric", "boolean", "object", "array"}

func (k Kind) String() string {
	if int(k) < len(kindNames) {
		return kindNames[k]
	}
	return "kind(" + strconv.Itoa(int(k)) + ")"
}

// Rule names a class of violation. The set is part of kassa's public
// interface (CLI output, JS API): keep it stable.
type Rule string

const (
	RuleJSON        Rule = "json"        // not JSON, duplicate key, too deep, bad UTF-8
	RuleRequired    Rule = "required"    // a required field is absent or null
	RuleType        Rule = "type"        // wrong JSON type
	RuleLength      Rule = "length"      // string length or array size out of bounds
	RuleRange       Rule = "range"       // number out of bounds, or a cross-field bound
	RuleEnum        Rule = "enum"        // value not in the published list
	RulePattern     Rule = "pattern"     // string does not match its format
	RuleOneOf       Rule = "oneof"       // exclusive or at-least-one group broken
	RuleConditional Rule = "conditional" // required or forbidden because of another field
)

// Presence says what a Cond makes of its field.
type Presence uint8

const (
	MustBePresent Presence = iota + 1
	MustBeAbsent
)

// Cond makes a field required or forbidden when the field at Path (relative
// to the same scope) has one of the values In. An empty In means "whenever
// Path is present".
type Cond struct {
	Path string
	In   []string
	Then Presence
}

// Format is a named string pattern. Pattern is the regular expression that
// documents it (OpenAPI); Match is the exact check (hand-written: faster than
// regexp and keeps the wasm module small).
type Format struct {
	Name    string
	Pattern string
	Match   func(string) bool
	Hint    string // message when the match fails, e.g. "must be 3 upper-case letters"
}

// Field describes one value by its dotted path relative to its scope. Parent
// objects are implicit: "consumer.device.serialNumber" requires consumer and
// consumer.device to be objects when present.
type Field struct {
	Path     string
	Kind     Kind
	Required bool
	Desc     string

	MinLen, MaxLen int // string length in characters; 0 = unbounded
	MinItems       int // arrays
	MaxItems       int // arrays; 0 = unbounded

	Min, Max         float64 // numeric bounds (inclusive)
	HasMin, HasMax   bool
	ExclMin, ExclMax bool // bounds are exclusive

	Enum   []string // allowed string values
	Format *Format

	When  []Cond // conditional presence
	Items *Scope // array elements (Kind Array)
}

// GroupKind is how a Group constrains its members.
type GroupKind uint8

const (
	ExactlyOne GroupKind = iota + 1 // one and only one member present
	AtLeastOne                      // one or more present
	AtMostOne                       // never two present
)

// Group ties several paths of one scope together.
type Group struct {
	Kind  GroupKind
	Paths []string
}

// Check is a cross-field rule over one scope. Fn receives a getter for the
// scope's fields by path; it returns the violating path and message, or ok.
type Check struct {
	Name string // documents the rule, e.g. "cost < sellingPrice"
	Rule Rule
	Fn   func(get func(path string) Value) (path, message string, ok bool)
}

// Value is what a Check sees of a field.
type Value struct {
	Present bool
	Num     float64 // numbers and numeric strings
	IsNum   bool
	Str     string // strings (and the raw text of other values)
}

// Scope is a set of fields with their groups and checks: the body of an
// endpoint, or one element of an array.
type Scope struct {
	Fields []*Field
	Groups []Group
	Checks []Check
}

// BodyKind says whether an endpoint carries a body.
type BodyKind uint8

const (
	JSONBody  BodyKind = iota // a JSON object
	NoBody                    // empty; if a body is sent it must be JSON
	ArrayBody                 // a JSON array; the endpoint's Scope describes each element
)

// Endpoint describes one request or response.
type Endpoint struct {
	ID       string // "<provider>.<operation>" or "<provider>.<operation>.response"
	Provider string // payneteasy, smarts, voyado
	Summary  string
	Method   string // HTTP method of the exchange
	Path     string // path template, as the provider documents it
	From, To string // who sends it: app, merchant, gateway, node, browser, server, cluster
	Response bool   // describes a response body
	Body     BodyKind
	Scope    // the body
	Query    []*Field
	Example  string // a valid sample body, from the provider docs where published
}

// Provider names.
const (
	Payneteasy = "payneteasy"
	Smarts     = "smarts"
	Voyado     = "voyado"
)
