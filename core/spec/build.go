package spec

// Builders keep the provider tables (payneteasy.go, smarts.go, voyado.go)
// close to how the providers publish them: one line per field.

func field(path string, k Kind) *Field { return &Field{Path: path, Kind: k} }

// Str, Int, Num, NumStr, Bool, Obj and Arr start a field of that kind.
func Str(path string) *Field    { return field(path, String) }
func Int(path string) *Field    { return field(path, Integer) }
func Num(path string) *Field    { return field(path, Number) }
func NumStr(path string) *Field { return field(path, Numeric) }
func Bool(path string) *Field   { return field(path, Boolean) }
func Obj(path string) *Field    { return field(path, Object) }
func AnyOf(path string) *Field  { return field(path, Any) }

// Arr starts an array field whose elements are objects described by items.
func Arr(path string, items ...*Field) *Field {
	f := field(path, Array)
	if len(items) > 0 {
		f.Items = &Scope{Fields: items}
	}
	return f
}

// ArrOf starts an array of scalars: the element is described by item,
// whose path must be empty.
func ArrOf(path string, item *Field) *Field {
	f := field(path, Array)
	f.Items = &Scope{Fields: []*Field{item}}
	return f
}

// Req marks the field required.
func (f *Field) Req() *Field { f.Required = true; return f }

// Len bounds a string's length in characters (max 0: unbounded).
func (f *Field) Len(min, max int) *Field { f.MinLen, f.MaxLen = min, max; return f }

// Size bounds an array's number of elements (max 0: unbounded).
func (f *Field) Size(min, max int) *Field { f.MinItems, f.MaxItems = min, max; return f }

// Range bounds a number inclusively.
func (f *Field) Range(min, max float64) *Field {
	f.Min, f.Max, f.HasMin, f.HasMax = min, max, true, true
	return f
}

// AtLeast sets an inclusive lower bound.
func (f *Field) AtLeast(min float64) *Field { f.Min, f.HasMin = min, true; return f }

// Above sets an exclusive lower bound.
func (f *Field) Above(min float64) *Field { f.Min, f.HasMin, f.ExclMin = min, true, true; return f }

// OneOf restricts a string to the listed values.
func (f *Field) OneOf(values ...string) *Field { f.Enum = values; return f }

// Fmt requires the string to match a format.
func (f *Field) Fmt(format *Format) *Field { f.Format = format; return f }

// Doc sets the description.
func (f *Field) Doc(d string) *Field { f.Desc = d; return f }

// ReqWhen makes the field required when path holds one of values (or, with
// no values, whenever path is present).
func (f *Field) ReqWhen(path string, values ...string) *Field {
	f.When = append(f.When, Cond{Path: path, In: values, Then: MustBePresent})
	return f
}

// ForbidWhen makes the field forbidden when path holds one of values (or,
// with no values, whenever path is present).
func (f *Field) ForbidWhen(path string, values ...string) *Field {
	f.When = append(f.When, Cond{Path: path, In: values, Then: MustBeAbsent})
	return f
}

// Group adds a group rule to the elements of an array field.
func (f *Field) Group(k GroupKind, paths ...string) *Field {
	f.Items.Groups = append(f.Items.Groups, Group{Kind: k, Paths: paths})
	return f
}

// Check adds a cross-field rule to the elements of an array field.
func (f *Field) Check(c Check) *Field {
	f.Items.Checks = append(f.Items.Checks, c)
	return f
}

func scope(fields ...*Field) Scope { return Scope{Fields: fields} }
