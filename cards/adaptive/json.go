package adaptive

import (
	"bytes"
	"encoding/json"
)

// obj is a JSON object that keeps its keys in the order they were added, so
// a card reads top-down ("type" first) in golden files and in logs.
type obj []kv

type kv struct {
	k string
	v any
}

// set appends a key (the caller never adds one twice).
func (o obj) set(k string, v any) obj { return append(o, kv{k, v}) }

// MarshalJSON writes the keys in order.
func (o obj) MarshalJSON() ([]byte, error) {
	var b bytes.Buffer
	b.WriteByte('{')
	for i, p := range o {
		if i > 0 {
			b.WriteByte(',')
		}
		if err := encode(&b, p.k); err != nil {
			return nil, err
		}
		b.WriteByte(':')
		if err := encode(&b, p.v); err != nil {
			return nil, err
		}
	}
	b.WriteByte('}')
	return b.Bytes(), nil
}

// encode appends v's JSON without HTML escapes: json.Marshal adds them back
// when it compacts a Marshaler's output, a non-escaping encoder keeps them
// out (readable golden files).
func encode(b *bytes.Buffer, v any) error {
	enc := json.NewEncoder(b)
	enc.SetEscapeHTML(false)
	if err := enc.Encode(v); err != nil {
		return err
	}
	b.Truncate(b.Len() - 1) // Encode's newline
	return nil
}
