package spec

// Formats used by the provider tables. Each is checked by a small function
// rather than a regexp: the checks run on every request inside the wasm
// module, where regexp would cost time and module size.

var (
	// Currency is an ISO 4217 alphabetic code in upper case (Payneteasy).
	Currency = &Format{Name: "currency", Pattern: "^[A-Z]{3}$", Hint: "must be 3 upper-case letters (ISO 4217)",
		Match: func(s string) bool { return len(s) == 3 && every(s, isUpper) }}
	// Digits is one or more ASCII digits.
	Digits = &Format{Name: "digits", Pattern: "^[0-9]+$", Hint: "must contain only digits",
		Match: func(s string) bool { return s != "" && every(s, isDigit) }}
	// CardNumber is a primary account number: digits that pass the Luhn check.
	CardNumber = &Format{Name: "card-number", Pattern: "^[0-9]{9,19}$", Hint: "must be digits passing the Luhn check",
		Match: func(s string) bool { return s != "" && every(s, isDigit) && luhn(s) }}
	// Year4 is a four-digit year.
	Year4 = &Format{Name: "year", Pattern: "^[0-9]{4}$", Hint: "must be a 4-digit year",
		Match: func(s string) bool { return len(s) == 4 && every(s, isDigit) }}
	// Hex40 is a 40-character hexadecimal digest (SHA-1), either case.
	Hex40 = &Format{Name: "sha1-hex", Pattern: "^[0-9A-Fa-f]{40}$", Hint: "must be 40 hexadecimal characters",
		Match: func(s string) bool { return len(s) == 40 && every(s, isHex) }}
	// Date is a calendar date YYYY-MM-DD.
	Date = &Format{Name: "date", Pattern: "^[0-9]{4}-[0-9]{2}-[0-9]{2}$", Hint: "must be a date YYYY-MM-DD",
		Match: func(s string) bool {
			return len(s) == 10 && s[4] == '-' && s[7] == '-' && every(s[:4], isDigit) && every(s[5:7], isDigit) && every(s[8:], isDigit) &&
				between(s[5:7], "01", "12") && between(s[8:], "01", "31")
		}}
	// HHMM is a time of day HH:MM.
	HHMM = &Format{Name: "time", Pattern: "^([01][0-9]|2[0-3]):[0-5][0-9]$", Hint: "must be a time HH:MM",
		Match: func(s string) bool {
			return len(s) == 5 && s[2] == ':' && every(s[:2], isDigit) && every(s[3:], isDigit) && s[:2] <= "23" && s[3:] <= "59"
		}}
	// Text is a line of text without control characters (C0 or DEL). The
	// classic callback's identifiers become store keys, and a NUL there
	// would otherwise surface as a server error the gateway retries.
	Text = &Format{Name: "text", Pattern: "^[^\\x00-\\x1f\\x7f]*$", Hint: "must not contain control characters",
		Match: func(s string) bool { return every(s, func(c byte) bool { return c >= 0x20 && c != 0x7f }) }}
	// URL is an absolute http(s) URL.
	URL = &Format{Name: "url", Pattern: "^https?://", Hint: "must be an absolute http(s) URL",
		Match: func(s string) bool {
			return (len(s) > 7 && s[:7] == "http://") || (len(s) > 8 && s[:8] == "https://")
		}}
)

func every(s string, ok func(byte) bool) bool {
	for i := 0; i < len(s); i++ {
		if !ok(s[i]) {
			return false
		}
	}
	return true
}

func between(s, lo, hi string) bool { return s >= lo && s <= hi }

func isUpper(c byte) bool { return c >= 'A' && c <= 'Z' }
func isDigit(c byte) bool { return c >= '0' && c <= '9' }
func isHex(c byte) bool   { return isDigit(c) || (c|0x20 >= 'a' && c|0x20 <= 'f') }

// luhn reports whether a string of digits passes the Luhn (mod 10) check.
func luhn(s string) bool {
	sum, double := 0, false
	for i := len(s) - 1; i >= 0; i-- {
		d := int(s[i] - '0')
		if double {
			if d *= 2; d > 9 {
				d -= 9
			}
		}
		sum += d
		double = !double
	}
	return sum%10 == 0
}
