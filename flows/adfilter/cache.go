package adfilter

import (
	"crypto/sha256"
	"encoding/hex"
	"encoding/json"
	"os"
	"sync"
)

// Cache shares compiled rules between the groups of a config, and between
// loads: 100 groups listing the same 10,000 keywords and classifier files
// compile them once, and a reload compiles only rules that changed. It
// belongs to the Flow value the binary registers (New), not to the
// package, so tests and tools get their own.
type Cache struct {
	mu      sync.Mutex
	entries map[string]*compiled
	order   []string // oldest first, for eviction
}

// cacheSize bounds the distinct rule sets kept: those of the current
// config and a few from before a reload.
const cacheSize = 16

// fingerprint is everything the compiled part depends on: the rules (with
// their scores, which decide what fires and so what the classifier
// learns) and the files named, by path, size and modification time.
func fingerprint(c *Config) (string, error) {
	type file struct {
		Path string
		Size int64
		Mod  int64
	}
	var files []file
	stat := func(p string) {
		if p == "" {
			return
		}
		f := file{Path: p}
		if st, err := os.Stat(p); err == nil {
			f.Size, f.Mod = st.Size(), st.ModTime().UnixNano()
		}
		files = append(files, f)
	}
	for _, k := range c.Keywords {
		stat(string(k.File))
	}
	var regexes []string
	for _, r := range c.Regexes {
		regexes = append(regexes, r.Name+"\x00"+r.Pattern.String())
	}
	if cl := c.Classifier; cl != nil {
		for _, p := range append(append([]string(nil), paths(cl.Spam)...), paths(cl.Ham)...) {
			stat(p)
		}
		stat(string(cl.File))
	}
	b, err := json.Marshal(struct {
		Keywords   []Keywords
		Regexes    []string
		Links      Links
		Contacts   Contacts
		Forwards   Forwards
		Newcomer   Newcomer
		Classifier *Classifier
		Files      []file
	}{c.Keywords, regexes, c.Links, c.Contacts, c.Forwards, c.Newcomer, c.Classifier, files})
	if err != nil {
		return "", err
	}
	h := sha256.Sum256(b)
	return hex.EncodeToString(h[:]), nil
}

// compile returns the scorer of c, sharing a compiled part built for
// identical rules before.
func (k *Cache) compile(c *Config) (*Scorer, error) {
	if k == nil {
		return Compile(c)
	}
	key, err := fingerprint(c)
	if err != nil {
		return Compile(c)
	}
	k.mu.Lock()
	defer k.mu.Unlock() // one compile at a time: a second group waits for the first's
	if comp, ok := k.entries[key]; ok {
		return &Scorer{cfg: c, compiled: comp}, nil
	}
	s, err := Compile(c)
	if err != nil {
		return nil, err
	}
	if k.entries == nil {
		k.entries = map[string]*compiled{}
	}
	k.entries[key] = s.compiled
	k.order = append(k.order, key)
	if len(k.order) > cacheSize {
		delete(k.entries, k.order[0])
		k.order = k.order[1:]
	}
	return s, nil
}
