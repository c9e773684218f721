package sse

// AppendEvent appends one encoded event to dst and returns the extended
// slice: an "event: name" line when name is not empty, one "data: " line
// per line of data, and the blank line that ends the event. Data is split
// on "\r\n", "\r" and "\n" alike, because a bare '\r' inside a data line
// would end that line at the client anyway; empty data still yields one
// (empty) data line so the event is dispatched. name must not contain line
// breaks.
func AppendEvent(dst []byte, name string, data []byte) []byte {
	if name != "" {
		dst = append(dst, "event: "...)
		dst = append(dst, name...)
		dst = append(dst, '\n')
	}
	for {
		end := lineEnd(data)
		dst = append(dst, "data: "...)
		dst = append(dst, data[:end]...)
		dst = append(dst, '\n')
		if end == len(data) {
			break
		}
		if data[end] == '\r' && end+1 < len(data) && data[end+1] == '\n' {
			end++
		}
		data = data[end+1:]
	}
	return append(dst, '\n')
}
