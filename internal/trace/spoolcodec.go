package trace

import (
	"bytes"
	"encoding/gob"
	"fmt"
)

// spoolEncodingV1 is the first byte of a spooled batch: the rest is the
// batch as a gob-encoded []Record. Gob keeps every field exactly, the ones
// the JSON API leaves out (CostNanoUSD, FinishReasons) and bytes that are
// not valid UTF-8 included, so a replayed record is the record the proxy
// made; and it matches fields by name, so a field added to Record later
// decodes as its zero value from an older spool. A change that gob cannot
// bridge takes a new version byte, and decodeBatch keeps reading this one.
const spoolEncodingV1 byte = 1

// encodeBatch is a batch as one spool frame.
func encodeBatch(batch []Record) ([]byte, error) {
	var buf bytes.Buffer
	buf.WriteByte(spoolEncodingV1)
	if err := gob.NewEncoder(&buf).Encode(batch); err != nil {
		return nil, fmt.Errorf("trace: encode spooled batch: %w", err)
	}
	return buf.Bytes(), nil
}

// decodeBatch reads a frame encodeBatch made.
func decodeBatch(frame []byte) ([]Record, error) {
	if len(frame) == 0 || frame[0] != spoolEncodingV1 {
		return nil, fmt.Errorf("trace: spooled batch of unknown encoding")
	}
	var batch []Record
	if err := gob.NewDecoder(bytes.NewReader(frame[1:])).Decode(&batch); err != nil {
		return nil, fmt.Errorf("trace: decode spooled batch: %w", err)
	}
	return batch, nil
}
