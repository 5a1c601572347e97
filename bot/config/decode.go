package config

import (
	"errors"
	"fmt"
	"io/fs"
	"os"
	"path/filepath"
	"reflect"
	"sort"
	"strconv"
	"strings"

	"go.yaml.in/yaml/v3"
)

// NodeUnmarshaler is implemented by config value types that parse themselves
// (durations, templates, cron specs, ...). The loader reports a returned error
// at the node's line and column.
type NodeUnmarshaler interface {
	UnmarshalNode(n *yaml.Node) error
}

// Shorthand is implemented by config structs that may also be written as
// one scalar (a questionnaire's free-text question as just its text); a
// mapping is decoded field by field as any struct, unknown keys reported.
type Shorthand interface {
	FromScalar(s string)
}

var shorthandType = reflect.TypeFor[Shorthand]()

// Validator is implemented by config sections that check relations between
// their fields after decoding. report names the field by its yaml key path
// relative to the section ("" for the section itself), so the problem is
// reported at that key's position.
type Validator interface {
	Validate(report func(field, msg string))
}

// Defaulter is implemented by config sections that fill their defaults
// before the file's values are decoded over them.
type Defaulter interface {
	SetDefaults()
}

// decoder walks a yaml.Node tree into Go values by reflection. yaml.v3's own
// Node.Decode stops at the first custom-type error and cannot reject unknown
// keys; operators need every problem with its line and column at once.
type decoder struct {
	file     string
	problems *Problems
	// positions of decoded keys by dotted path, for Validator reports
	pos map[string]*yaml.Node
	// errs counts problems found, including repeats that Problems folds
	// (a default section is decoded once per group).
	errs int
	// platforms check chat keys (ChatKey values, group keys).
	platforms map[string]PlatformSchema
}

var nodeUnmarshalerType = reflect.TypeFor[NodeUnmarshaler]()
var yamlNodeType = reflect.TypeFor[yaml.Node]()
var pathType = reflect.TypeFor[Path]()

// Path is a file path in the config; a relative path is relative to the
// config file's folder, so a config works from any working directory.
type Path string

func (d *decoder) errf(n *yaml.Node, format string, args ...any) {
	d.errs++
	d.problems.add(d.file, n, fmt.Sprintf(format, args...))
}

func resolveAlias(n *yaml.Node) *yaml.Node {
	for n != nil && n.Kind == yaml.AliasNode {
		n = n.Alias
	}
	return n
}

func isNull(n *yaml.Node) bool {
	return n.Kind == yaml.ScalarNode && n.Tag == "!!null"
}

func (d *decoder) decode(n *yaml.Node, v reflect.Value, path string) {
	n = resolveAlias(n)
	if n == nil {
		return
	}
	if d.pos != nil {
		d.pos[path] = n
	}
	if v.Type() == yamlNodeType {
		v.Set(reflect.ValueOf(*n))
		return
	}
	if v.Type() == pathType {
		if n.Kind != yaml.ScalarNode {
			d.errf(n, "%s: expected a file path", keyName(path))
			return
		}
		p := n.Value
		if p != "" && !filepath.IsAbs(p) {
			p = filepath.Join(filepath.Dir(d.file), p)
		}
		if p != "" {
			// run would fail on it later, or worse, at the first use
			if err := readable(p); err != nil {
				d.errf(n, "%s: %v", keyName(path), err)
			}
		}
		v.SetString(p)
		return
	}
	if v.Type() == chatKeyType {
		if n.Kind != yaml.ScalarNode {
			d.errf(n, "%s: expected a chat key such as \"telegram:-1001234567890\"", keyName(path))
			return
		}
		if isNull(n) || n.Value == "" {
			return
		}
		if err := d.checkChatKey(n.Value); err != nil {
			d.errf(n, "%s: %v", keyName(path), err)
			return
		}
		v.SetString(n.Value)
		return
	}
	if n.Kind == yaml.ScalarNode && !isNull(n) && v.CanAddr() && v.Addr().Type().Implements(shorthandType) {
		v.Addr().Interface().(Shorthand).FromScalar(n.Value)
		return
	}
	if v.CanAddr() && v.Addr().Type().Implements(nodeUnmarshalerType) {
		if isNull(n) {
			return
		}
		if err := v.Addr().Interface().(NodeUnmarshaler).UnmarshalNode(n); err != nil {
			d.errf(n, "%s: %v", keyName(path), err)
		}
		return
	}
	switch v.Kind() {
	case reflect.Pointer:
		if isNull(n) {
			return
		}
		if v.IsNil() {
			v.Set(reflect.New(v.Type().Elem()))
		}
		d.decode(n, v.Elem(), path)
	case reflect.Struct:
		d.decodeStruct(n, v, path)
	case reflect.Map:
		d.decodeMap(n, v, path)
	case reflect.Slice:
		if isNull(n) {
			return
		}
		if n.Kind != yaml.SequenceNode {
			d.errf(n, "%s: expected a list", keyName(path))
			return
		}
		s := reflect.MakeSlice(v.Type(), len(n.Content), len(n.Content))
		for i, item := range n.Content {
			d.decode(item, s.Index(i), fmt.Sprintf("%s[%d]", path, i))
		}
		v.Set(s)
	case reflect.Interface:
		var x any
		if err := n.Decode(&x); err != nil {
			d.errf(n, "%s: %v", keyName(path), err)
			return
		}
		if x != nil {
			v.Set(reflect.ValueOf(x))
		}
	default:
		d.decodeScalar(n, v, path)
	}
}

func (d *decoder) decodeScalar(n *yaml.Node, v reflect.Value, path string) {
	if n.Kind != yaml.ScalarNode {
		d.errf(n, "%s: expected a single value, not a %s", keyName(path), kindName(n))
		return
	}
	if isNull(n) {
		return
	}
	s := n.Value
	switch v.Kind() {
	case reflect.String:
		v.SetString(s)
	case reflect.Bool:
		switch strings.ToLower(s) {
		case "true", "yes", "on":
			v.SetBool(true)
		case "false", "no", "off":
			v.SetBool(false)
		default:
			d.errf(n, "%s: expected true or false, got %q", keyName(path), s)
		}
	case reflect.Int, reflect.Int8, reflect.Int16, reflect.Int32, reflect.Int64:
		i, err := strconv.ParseInt(strings.ReplaceAll(s, "_", ""), 0, v.Type().Bits())
		if err != nil {
			d.errf(n, "%s: expected a whole number, got %q", keyName(path), s)
			return
		}
		v.SetInt(i)
	case reflect.Uint, reflect.Uint8, reflect.Uint16, reflect.Uint32, reflect.Uint64:
		i, err := strconv.ParseUint(strings.ReplaceAll(s, "_", ""), 0, v.Type().Bits())
		if err != nil {
			d.errf(n, "%s: expected a whole number of zero or more, got %q", keyName(path), s)
			return
		}
		v.SetUint(i)
	case reflect.Float32, reflect.Float64:
		f, err := strconv.ParseFloat(s, v.Type().Bits())
		if err != nil {
			d.errf(n, "%s: expected a number, got %q", keyName(path), s)
			return
		}
		v.SetFloat(f)
	default:
		d.errf(n, "%s: unsupported config type %s", keyName(path), v.Type())
	}
}

type fieldInfo struct {
	index []int
	name  string
	seq   bool // takes the section's list when it is written as one
}

func structFields(t reflect.Type) []fieldInfo {
	var out []fieldInfo
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		tag := f.Tag.Get("yaml")
		name, opts, _ := strings.Cut(tag, ",")
		if name == "-" {
			continue
		}
		if strings.Contains(opts, "inline") && f.Type.Kind() == reflect.Struct {
			for _, sub := range structFields(f.Type) {
				out = append(out, fieldInfo{index: append([]int{i}, sub.index...), name: sub.name})
			}
			continue
		}
		if name == "" {
			name = strings.ToLower(f.Name)
		}
		out = append(out, fieldInfo{index: []int{i}, name: name, seq: strings.Contains(opts, "seq")})
	}
	return out
}

func (d *decoder) decodeStruct(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind == yaml.SequenceNode {
		// A section may be written as just its list (posts: [ ... ]) when
		// the struct marks the list field with the seq option.
		for _, f := range structFields(v.Type()) {
			if f.seq {
				if df, ok := v.Addr().Interface().(Defaulter); ok {
					df.SetDefaults()
				}
				before := d.errs
				d.decode(n, v.FieldByIndex(f.index), join(path, f.name))
				if val, ok := v.Addr().Interface().(Validator); ok && d.errs == before {
					val.Validate(func(field, msg string) { d.errf(n, "%s: %s", keyName(join(path, field)), msg) })
				}
				return
			}
		}
	}
	if n.Kind != yaml.MappingNode {
		d.errf(n, "%s: expected a mapping of keys, not a %s", keyName(path), kindName(n))
		return
	}
	if df, ok := v.Addr().Interface().(Defaulter); ok {
		df.SetDefaults()
	}
	fields := structFields(v.Type())
	byName := make(map[string]fieldInfo, len(fields))
	for _, f := range fields {
		byName[f.name] = f
	}
	seen := map[string]bool{}
	failed := map[string]bool{} // fields that did not decode
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if k.Value == "<<" { // YAML merge key: decode the merged mapping(s) first
			d.decodeStruct(resolveAlias(val), v, path)
			continue
		}
		if seen[k.Value] {
			d.errf(k, "duplicate key %q", join(path, k.Value))
			continue
		}
		seen[k.Value] = true
		f, ok := byName[k.Value]
		if !ok {
			d.errf(k, "unknown key %q%s (known keys: %s)", k.Value, inWhere(path), knownKeys(fields))
			continue
		}
		if d.pos != nil {
			d.pos[join(path, k.Value)] = k
		}
		before := d.errs
		d.decode(val, v.FieldByIndex(f.index), join(path, k.Value))
		if d.errs > before {
			failed[f.name] = true
		}
	}
	// Every problem is reported at once, the section's own checks too; only
	// a check of a field that failed to decode is left out (it would judge
	// the default, not what was written).
	if val, ok := v.Addr().Interface().(Validator); ok {
		val.Validate(func(field, msg string) {
			if top, _, _ := strings.Cut(field, "."); failed[top] || (field != "" && failed[strings.SplitN(top, "[", 2)[0]]) {
				return
			}
			at := n
			full := join(path, field)
			if p, ok := d.pos[full]; ok && field != "" {
				at = p
			}
			d.errf(at, "%s: %s", keyName(full), msg)
		})
	}
}

func (d *decoder) decodeMap(n *yaml.Node, v reflect.Value, path string) {
	if isNull(n) {
		return
	}
	if n.Kind != yaml.MappingNode {
		d.errf(n, "%s: expected a mapping, not a %s", keyName(path), kindName(n))
		return
	}
	if v.IsNil() {
		v.Set(reflect.MakeMap(v.Type()))
	}
	seen := map[string]bool{}
	for i := 0; i+1 < len(n.Content); i += 2 {
		k, val := n.Content[i], n.Content[i+1]
		if seen[k.Value] {
			d.errf(k, "duplicate key %q", join(path, k.Value))
			continue
		}
		seen[k.Value] = true
		kv := reflect.New(v.Type().Key()).Elem()
		d.decode(k, kv, path)
		ev := reflect.New(v.Type().Elem()).Elem()
		d.decode(val, ev, join(path, k.Value))
		v.SetMapIndex(kv, ev)
	}
}

func join(path, key string) string {
	if path == "" {
		return key
	}
	if key == "" {
		return path
	}
	return path + "." + key
}

func keyName(path string) string {
	if path == "" {
		return "config"
	}
	return path
}

func inWhere(path string) string {
	if path == "" {
		return ""
	}
	return " in " + path
}

func knownKeys(fields []fieldInfo) string {
	names := make([]string, len(fields))
	for i, f := range fields {
		names[i] = f.name
	}
	sort.Strings(names)
	return strings.Join(names, ", ")
}

func kindName(n *yaml.Node) string {
	switch n.Kind {
	case yaml.MappingNode:
		return "mapping"
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "single value"
	}
	return "node"
}

// readable reports why a file named by the config cannot be read.
func readable(path string) error {
	f, err := os.Open(path)
	if err != nil {
		var pe *fs.PathError
		if errors.As(err, &pe) {
			return fmt.Errorf("cannot read %s: %v", path, pe.Err)
		}
		return fmt.Errorf("cannot read %s: %v", path, err)
	}
	defer f.Close()
	st, err := f.Stat()
	if err != nil {
		return fmt.Errorf("cannot read %s: %v", path, err)
	}
	if st.IsDir() {
		return fmt.Errorf("%s is a folder, not a file", path)
	}
	return nil
}
