package sign

import (
	"encoding/binary"
	"errors"
	"strconv"
	"unsafe"
)

// The binary form of signature inputs, for hosts that hold the values
// already (the proxy) and need not build and parse a JSON object: under
// WebAssembly, parsing the JSON fields costs more than the signature.
//
// It is a sequence of records, each
//
//	tag     1 byte: a Field (0 to NumFields-1, in the order of FieldNames),
//	        or KeyTag for the control key
//	length  4 bytes, little endian
//	value   length bytes
//
// in any order, each tag at most once. An absent or empty record is an
// absent value, as in the JSON form.

// KeyTag is the tag of the control key's record.
const KeyTag = 0xFF

// BinarySize returns the length of AppendBinary's output.
func BinarySize(controlKey string, v *Values) int {
	n := 5 + len(controlKey)
	for _, s := range v {
		if s != "" {
			n += 5 + len(s)
		}
	}
	return n
}

// AppendBinary appends the binary form of the control key and v to dst.
func AppendBinary(dst []byte, controlKey string, v *Values) []byte {
	dst = appendRecord(dst, KeyTag, controlKey)
	for f, s := range v {
		if s != "" {
			dst = appendRecord(dst, byte(f), s)
		}
	}
	return dst
}

func appendRecord(dst []byte, tag byte, s string) []byte {
	dst = append(dst, tag)
	dst = binary.LittleEndian.AppendUint32(dst, uint32(len(s)))
	return append(dst, s...)
}

var errTruncated = errors.New("fields: truncated binary record")

// seenFits fails to compile if the tags stop fitting ParseBinary's uint32.
const seenFits = uint(31 - NumFields)

// ParseBinary fills v from the binary form and returns the control key
// ("" if absent). The strings alias in (no copy), as Parse's alias its body.
func ParseBinary(in []byte, v *Values) (controlKey string, err error) {
	*v = Values{}
	var seen uint32 // one bit per tag, the key's at NumFields (seenFits)
	for len(in) > 0 {
		if len(in) < 5 {
			return "", errTruncated
		}
		tag, n := in[0], binary.LittleEndian.Uint32(in[1:5])
		if uint64(n) > uint64(len(in)-5) {
			return "", errTruncated
		}
		s := bytesString(in[5 : 5+n])
		in = in[5+n:]
		i := int(tag)
		if tag == KeyTag {
			i = int(NumFields)
		} else if i >= int(NumFields) {
			return "", errors.New("fields: unknown binary tag " + strconv.Itoa(i))
		}
		if seen&(1<<i) != 0 {
			return "", errors.New("fields: binary tag " + strconv.Itoa(int(tag)) + " given twice")
		}
		seen |= 1 << i
		if tag == KeyTag {
			controlKey = s
			continue
		}
		v[Field(tag)] = s
	}
	return controlKey, CheckValues(v)
}

// CheckValues reports a value no signature may be made of, whatever form
// the fields came in: an amount that is not digits (minor units).
func CheckValues(v *Values) error {
	for _, f := range [...]Field{AmountCentis, AmountMinor} {
		if s := v[f]; s != "" && !digits(s) {
			return errors.New(FieldNames[f] + " must be an integer amount in minor units")
		}
	}
	return nil
}

func bytesString(b []byte) string { return unsafe.String(unsafe.SliceData(b), len(b)) }
