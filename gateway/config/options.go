package config

import (
	"encoding/json"
	"errors"
	"fmt"
	"regexp"
	"strconv"
	"strings"

	"gopkg.in/yaml.v3"

	"github.com/davgate/davgate/adapters"
)

// nodeOptions implements adapters.Options over a source's raw "options"
// node, so only the adapter decodes its own keys.
type nodeOptions struct {
	node *yaml.Node // nil or zero Kind when the source has no options
}

var _ adapters.Options = nodeOptions{}

var lineRE = regexp.MustCompile(`line (\d+)`)

// Decode implements adapters.Options. Unknown keys are rejected, and error
// messages carry line numbers of the configuration file.
//
// yaml.v3 only honours KnownFields on a Decoder reading bytes, not on
// Node.Decode, so the node is re-encoded and decoded strictly; the line
// numbers of the re-encoded text are then mapped back to the file's.
func (o nodeOptions) Decode(v any) error {
	if o.node == nil || o.node.Kind == 0 || (o.node.Kind == yaml.ScalarNode && o.node.Tag == "!!null") {
		return nil
	}
	if o.node.Kind != yaml.MappingNode {
		return fmt.Errorf("line %d: options must be a mapping of keys to values, not a %s", o.node.Line, kindName(o.node.Kind))
	}
	text, err := yaml.Marshal(o.node)
	if err != nil {
		return fmt.Errorf("line %d: re-encode options: %w", o.node.Line, err)
	}
	dec := yaml.NewDecoder(strings.NewReader(string(text)))
	dec.KnownFields(true)
	err = dec.Decode(v)
	if err == nil {
		return nil
	}
	lines := map[int]int{}
	var doc yaml.Node
	if yaml.Unmarshal(text, &doc) == nil && len(doc.Content) == 1 {
		mapLines(o.node, doc.Content[0], lines)
	}
	fix := func(s string) string {
		return lineRE.ReplaceAllStringFunc(s, func(m string) string {
			n, _ := strconv.Atoi(m[len("line "):])
			if orig, ok := lines[n]; ok {
				return "line " + strconv.Itoa(orig)
			}
			return m
		})
	}
	var te *yaml.TypeError
	if errors.As(err, &te) {
		msgs := make([]string, len(te.Errors))
		for i, e := range te.Errors {
			msgs[i] = fix(e)
		}
		return &OptionsError{Problems: msgs}
	}
	return &OptionsError{Problems: []string{fix(strings.TrimPrefix(err.Error(), "yaml: "))}}
}

// OptionsError reports problems decoding a source's options. Each problem
// names its line in the configuration file.
type OptionsError struct {
	Problems []string
}

func (e *OptionsError) Error() string { return strings.Join(e.Problems, "; ") }

// mapLines records, for each node of the re-encoded tree, the line of the
// corresponding node in the original tree. Both trees have the same shape.
func mapLines(orig, re *yaml.Node, m map[int]int) {
	if _, ok := m[re.Line]; !ok {
		m[re.Line] = orig.Line
	}
	if len(orig.Content) != len(re.Content) {
		return
	}
	for i := range orig.Content {
		mapLines(orig.Content[i], re.Content[i], m)
	}
}

func kindName(k yaml.Kind) string {
	switch k {
	case yaml.SequenceNode:
		return "list"
	case yaml.ScalarNode:
		return "scalar"
	case yaml.AliasNode:
		return "alias"
	}
	return "document"
}

// canonicalKey identifies an instance: sources with the same type and the
// same decoded options share one. Map keys are sorted by encoding/json, so
// key order and YAML style do not matter.
func canonicalKey(typ string, node *yaml.Node) (string, error) {
	var v any
	if node != nil && node.Kind != 0 {
		if err := node.Decode(&v); err != nil {
			return "", err
		}
	}
	b, err := json.Marshal(jsonable(v))
	if err != nil {
		return "", err
	}
	return typ + "\x00" + string(b), nil
}

// jsonable converts the map[any]any yaml.v3 produces for non-string keys
// into something encoding/json accepts.
func jsonable(v any) any {
	switch x := v.(type) {
	case map[string]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[k] = jsonable(e)
		}
		return out
	case map[any]any:
		out := make(map[string]any, len(x))
		for k, e := range x {
			out[fmt.Sprint(k)] = jsonable(e)
		}
		return out
	case []any:
		out := make([]any, len(x))
		for i, e := range x {
			out[i] = jsonable(e)
		}
		return out
	}
	return v
}
