package config

import (
	"bytes"
	"errors"
	"fmt"
	"io"
	"io/fs"
	"os"
	"reflect"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"
)

// DefaultPath is the config file read when none is named explicitly. It is
// optional: when it does not exist the built-in defaults apply.
const DefaultPath = "ongoingai.yaml"

// Load builds the effective configuration and validates it; see Read for
// the layering. A nil error means the result is ready to run with.
func Load(path string, explicit bool, getenv func(string) (string, bool)) (Config, error) {
	cfg, err := Read(path, explicit, getenv)
	if err != nil {
		return Config{}, err
	}
	if err := cfg.Validate(); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// Read builds the effective configuration without validating it, for
// callers that want to show a configuration even when it is invalid. The
// layers, each overriding the one before:
//
//  1. Default();
//  2. the YAML file at path. When explicit is false (the user did not name
//     a file) a missing file is not an error; when it is true, it is;
//  3. the environment, looked up through getenv (os.LookupEnv in the CLI; a
//     nil getenv means an empty environment, which keeps tests hermetic).
//     Empty variables count as unset.
//
// Errors name the file and line, or the variable, that caused them. Every
// unknown key and every malformed variable is reported, not just the first.
func Read(path string, explicit bool, getenv func(string) (string, bool)) (Config, error) {
	cfg := Default()

	data, err := os.ReadFile(path)
	switch {
	case err == nil:
		if err := decodeYAML(&cfg, path, data); err != nil {
			return Config{}, err
		}
	case errors.Is(err, fs.ErrNotExist) && !explicit:
		// No file where none was asked for: defaults and environment only.
	default:
		return Config{}, fmt.Errorf("read config: %w", err)
	}
	fillProviders(&cfg)
	foldOTelInterval(&cfg)

	if getenv == nil {
		getenv = func(string) (string, bool) { return "", false }
	}
	if err := applyEnv(&cfg, getenv); err != nil {
		return Config{}, err
	}
	return cfg, nil
}

// decodeYAML overlays the document in data onto cfg. Unknown keys are found
// by walking the parsed document against the Config type first, because
// yaml.v3's own message names a Go type ("not found in type config.Server")
// where a user needs the key's path; the strict decoder then runs as well,
// so the file can never carry a key the schema does not know.
func decodeYAML(cfg *Config, name string, data []byte) error {
	var doc yaml.Node
	if err := yaml.Unmarshal(data, &doc); err != nil {
		return fmt.Errorf("%s: %w", name, err)
	}
	if len(doc.Content) == 0 {
		return nil // empty file, or only comments
	}

	w := keyWalker{file: name, pathAtLine: map[int]string{}}
	w.walk(&doc, reflect.TypeOf(*cfg), "", 0)
	if len(w.errs) > 0 {
		return errors.Join(w.errs...)
	}

	dec := yaml.NewDecoder(bytes.NewReader(data))
	dec.KnownFields(true)
	if err := dec.Decode(cfg); err != nil && !errors.Is(err, io.EOF) {
		return w.describe(err)
	}
	return nil
}

// fillProviders gives the built-in providers back whatever fields the file
// left out (yaml.v3 replaces a map entry wholesale) and makes extra
// providers speak the OpenAI dialect unless they say otherwise.
func fillProviders(cfg *Config) {
	if cfg.Providers == nil {
		cfg.Providers = map[string]Provider{}
	}
	builtins := builtinProviders()
	for name, p := range cfg.Providers {
		def, builtin := builtins[name]
		if !builtin {
			def = Provider{Format: FormatOpenAI}
		}
		if p.Upstream == "" {
			p.Upstream = def.Upstream
		}
		if p.Prefix == "" {
			p.Prefix = def.Prefix
		}
		if p.Format == "" {
			p.Format = def.Format
		}
		cfg.Providers[name] = p
	}
	for name, def := range builtins {
		if _, ok := cfg.Providers[name]; !ok {
			cfg.Providers[name] = def
		}
	}
}

// maxYAMLDepth stops the key walk on documents whose aliases refer back to
// an enclosing node; the decoder rejects those itself.
const maxYAMLDepth = 64

// keyWalker finds keys that the schema does not know and remembers which
// field path each scalar value belongs to, so decoder errors, which carry
// only a line, can name the field too.
type keyWalker struct {
	file string
	errs []error
	// pathAtLine maps a line to the path of the scalar value on it, or to
	// "" when several values share the line and the path is ambiguous.
	pathAtLine map[int]string
}

func (w *keyWalker) walk(n *yaml.Node, t reflect.Type, path string, depth int) {
	if depth > maxYAMLDepth {
		return
	}
	for n.Kind == yaml.AliasNode && n.Alias != nil {
		n = n.Alias
	}
	for t.Kind() == reflect.Pointer {
		t = t.Elem()
	}
	switch n.Kind {
	case yaml.DocumentNode:
		for _, c := range n.Content {
			w.walk(c, t, path, depth+1)
		}
	case yaml.ScalarNode:
		if prev, seen := w.pathAtLine[n.Line]; seen && prev != path {
			path = ""
		}
		w.pathAtLine[n.Line] = path
	case yaml.SequenceNode:
		if t.Kind() == reflect.Slice || t.Kind() == reflect.Array {
			for i, c := range n.Content {
				w.walk(c, t.Elem(), fmt.Sprintf("%s[%d]", path, i), depth+1)
			}
		}
	case yaml.MappingNode:
		w.mapping(n, t, path, depth)
	}
}

func (w *keyWalker) mapping(n *yaml.Node, t reflect.Type, path string, depth int) {
	var fields map[string]reflect.Type
	switch t.Kind() {
	case reflect.Struct:
		fields = yamlFields(t)
	case reflect.Map:
	default:
		return // a type mismatch, which the decoder reports
	}
	for i := 0; i+1 < len(n.Content); i += 2 {
		key, value := n.Content[i], n.Content[i+1]
		if key.Value == "<<" && key.Tag == "!!merge" {
			// A merge key splices in one mapping or a list of them, all
			// of which describe the same type as the enclosing mapping.
			if value.Kind == yaml.SequenceNode {
				for _, c := range value.Content {
					w.walk(c, t, path, depth+1)
				}
			} else {
				w.walk(value, t, path, depth+1)
			}
			continue
		}
		child := joinPath(path, key.Value)
		if t.Kind() == reflect.Map {
			w.walk(value, t.Elem(), child, depth+1)
			continue
		}
		ft, ok := fields[key.Value]
		if !ok {
			w.errs = append(w.errs, fmt.Errorf("%s:%d: %s: unknown key", w.file, key.Line, child))
			continue
		}
		w.walk(value, ft, child, depth+1)
	}
}

// yamlFields maps the YAML key of each field of struct type t to its type,
// following yaml.v3's naming: the tag's name, else the lowercased field name.
func yamlFields(t reflect.Type) map[string]reflect.Type {
	fields := make(map[string]reflect.Type, t.NumField())
	for i := range t.NumField() {
		f := t.Field(i)
		if !f.IsExported() {
			continue
		}
		name, _, _ := strings.Cut(f.Tag.Get("yaml"), ",")
		switch name {
		case "-":
			continue
		case "":
			name = strings.ToLower(f.Name)
		}
		fields[name] = f.Type
	}
	return fields
}

func joinPath(parent, key string) string {
	if parent == "" {
		return key
	}
	return parent + "." + key
}

// typeErrorLine matches one entry of yaml.TypeError.Errors.
var typeErrorLine = regexp.MustCompile(`^line (\d+): (.*)$`)

// describe rewrites a decoder error so that each message starts with
// file:line and, where the walk could tell, the field path.
func (w *keyWalker) describe(err error) error {
	var typeErr *yaml.TypeError
	if !errors.As(err, &typeErr) {
		return fmt.Errorf("%s: %w", w.file, err)
	}
	errs := make([]error, 0, len(typeErr.Errors))
	for _, msg := range typeErr.Errors {
		m := typeErrorLine.FindStringSubmatch(msg)
		if m == nil {
			errs = append(errs, fmt.Errorf("%s: %s", w.file, msg))
			continue
		}
		line, _ := strconv.Atoi(m[1])
		if path := w.pathAtLine[line]; path != "" {
			errs = append(errs, fmt.Errorf("%s:%d: %s: %s", w.file, line, path, m[2]))
		} else {
			errs = append(errs, fmt.Errorf("%s:%d: %s", w.file, line, m[2]))
		}
	}
	return errors.Join(errs...)
}
