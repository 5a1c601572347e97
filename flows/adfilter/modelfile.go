package adfilter

import (
	"bufio"
	"encoding/binary"
	"errors"
	"fmt"
	"io"
	"math"
)

// A model file is what `qunbot adfilter train -o` writes and
// classifier.file loads, so replicas and restarts skip training: a magic
// line, then little-endian fields — messages learned from, the bias, the
// learned sure threshold, the non-zero weights as (index, weight) pairs,
// and the known spam's MinHash signatures. Each version changed the
// features (2: 4-grams, each counted once; 3: @names; 4: words of every
// alphabet, not only Latin), so an older file's weights mean something
// else to it and are refused.
const modelMagic = "qunbot-adfilter-model 4\n"

// oldModel reports whether magic is the first line of an older model file.
func oldModel(magic string) bool {
	return magic == "qunbot-adfilter-model 1\n" || magic == "qunbot-adfilter-model 2\n" || magic == "qunbot-adfilter-model 3\n"
}

// WriteTo writes the model.
func (m *Model) WriteTo(w io.Writer) (int64, error) {
	bw := bufio.NewWriter(w)
	cw := &countWriter{w: bw}
	_, _ = io.WriteString(cw, modelMagic)
	nonzero := 0
	for _, x := range m.w {
		if x != 0 {
			nonzero++
		}
	}
	var sigs [][sigSize]uint32
	if m.known != nil {
		sigs = m.known.sigs
	}
	put := func(v any) { _ = binary.Write(cw, binary.LittleEndian, v) }
	put(uint32(m.trained))
	put(math.Float64bits(m.bias))
	put(math.Float64bits(m.sure))
	put(uint32(nonzero))
	for i, x := range m.w {
		if x != 0 {
			put(uint32(i))
			put(x)
		}
	}
	put(uint32(len(sigs)))
	for i := range sigs {
		put(sigs[i])
	}
	if cw.err != nil {
		return cw.n, fmt.Errorf("write model: %w", cw.err)
	}
	if err := bw.Flush(); err != nil {
		return cw.n, fmt.Errorf("write model: %w", err)
	}
	return cw.n, nil
}

type countWriter struct {
	w   io.Writer
	n   int64
	err error
}

func (c *countWriter) Write(p []byte) (int, error) {
	if c.err != nil {
		return 0, c.err
	}
	n, err := c.w.Write(p)
	c.n += int64(n)
	c.err = err
	return n, err
}

// ReadModel reads a model file; a file that is not one, or is cut short,
// is an error naming what is wrong.
func ReadModel(r io.Reader) (*Model, error) {
	br := bufio.NewReader(r)
	magic := make([]byte, len(modelMagic))
	_, err := io.ReadFull(br, magic)
	switch {
	case err == nil && oldModel(string(magic)):
		return nil, errors.New("a model file of an older qunbot, whose features this one does not use: train it again with `qunbot adfilter train -o FILE`")
	case err != nil || string(magic) != modelMagic:
		return nil, errors.New("not a qunbot ad-filter model (train one with `qunbot adfilter train -o FILE`)")
	}
	get := func(v any) error { return binary.Read(br, binary.LittleEndian, v) }
	var trained, nonzero, nsigs uint32
	var bias, sure uint64
	if err := errors.Join(get(&trained), get(&bias), get(&sure), get(&nonzero)); err != nil {
		return nil, fmt.Errorf("model header: %w", err)
	}
	if p := math.Float64frombits(sure); !(p >= minSureP && p <= maxSureP) {
		return nil, fmt.Errorf("model header: sure threshold %v outside [%v, %v]", p, minSureP, maxSureP)
	}
	if nonzero > 1<<linBits {
		return nil, fmt.Errorf("model: %d weights, more than its %d features", nonzero, 1<<linBits)
	}
	m := newModel()
	m.bias, m.sure, m.trained = math.Float64frombits(bias), math.Float64frombits(sure), int(trained)
	for range nonzero {
		var i uint32
		var x float32
		if err := errors.Join(get(&i), get(&x)); err != nil {
			return nil, fmt.Errorf("model weights: %w", err)
		}
		if i > linMask || math.IsNaN(float64(x)) || math.Abs(float64(x)) > 1e6 {
			return nil, fmt.Errorf("model weights: bad entry %d=%v", i, x)
		}
		m.w[i] = x
	}
	if err := get(&nsigs); err != nil {
		return nil, fmt.Errorf("model signatures: %w", err)
	}
	if nsigs > 10_000_000 {
		return nil, fmt.Errorf("model: %d signatures is not plausible", nsigs)
	}
	for range nsigs {
		var sig [sigSize]uint32
		if err := get(&sig); err != nil {
			return nil, fmt.Errorf("model signatures: %w", err)
		}
		m.known.addSig(sig)
	}
	m.quantize()
	return m, nil
}
