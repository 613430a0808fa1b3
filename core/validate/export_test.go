package validate

// SetIndexNatively makes Validate walk every body through an index it
// builds itself (see index.go), as under a WebAssembly host, or by
// scanning (false, the native default). It returns the previous setting.
func SetIndexNatively(on bool) (was bool) { was, indexNatively = indexNatively, on; return was }
