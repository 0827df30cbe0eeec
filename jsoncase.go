package callscope

import (
	"bytes"
	"encoding/json"
	"reflect"
	"sort"
	"strconv"
	"strings"
	"sync"
)

// encoding/json matches an object's keys to struct fields without regard
// to case when no field has the exact name, so DisallowUnknownFields lets
// {"Title": …} or {"TITLE": …} through as "title". callscope's documents
// are case-sensitive: wrongCaseKey walks a decoded document beside the type
// it was decoded into and finds the first key that named a field only by
// folding case.

// shapedJSON is a type with its own UnmarshalJSON whose JSON value v is
// read as another type; wrongCaseKey checks v's keys against that type
// (nil: not at all).
type shapedJSON interface {
	jsonShape(v any) reflect.Type
}

var shapedJSONType = reflect.TypeFor[shapedJSON]()

// wrongCaseKey returns the path of the first key in raw that matched a
// field of dst's type only by case, or nil.
func wrongCaseKey(raw []byte, dst any) []string {
	t := reflect.TypeOf(dst)
	if t == nil {
		return nil
	}
	dec := json.NewDecoder(bytes.NewReader(raw))
	dec.UseNumber()
	var v any
	if dec.Decode(&v) != nil {
		return nil
	}
	return caseWalk(v, t, nil)
}

func caseWalk(v any, t reflect.Type, path []string) []string {
	for t.Kind() == reflect.Pointer {
		if t.Implements(shapedJSONType) {
			break
		}
		t = t.Elem()
	}
	if t.Implements(shapedJSONType) || reflect.PointerTo(t).Implements(shapedJSONType) {
		var s shapedJSON
		if t.Kind() == reflect.Pointer {
			s = reflect.New(t.Elem()).Interface().(shapedJSON)
		} else {
			s = reflect.New(t).Interface().(shapedJSON)
		}
		if next := s.jsonShape(v); next != nil {
			return caseWalk(v, next, path)
		}
		return nil
	}
	switch t.Kind() {
	case reflect.Struct:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		fields := jsonFields(t)
		for _, k := range sortedKeys(obj) {
			ft, ok := fields[k]
			if !ok {
				// The document decoded with unknown fields refused, so a
				// key without an exact field matched one by folding case.
				return append(append([]string{}, path...), k)
			}
			if p := caseWalk(obj[k], ft, append(path, k)); p != nil {
				return p
			}
		}
	case reflect.Map:
		obj, ok := v.(map[string]any)
		if !ok {
			return nil
		}
		for _, k := range sortedKeys(obj) {
			if p := caseWalk(obj[k], t.Elem(), append(path, k)); p != nil {
				return p
			}
		}
	case reflect.Slice, reflect.Array:
		list, ok := v.([]any)
		if !ok || t.Elem().Kind() == reflect.Uint8 && t.Kind() == reflect.Slice {
			return nil
		}
		for i, x := range list {
			if p := caseWalk(x, t.Elem(), append(path, strconv.Itoa(i))); p != nil {
				return p
			}
		}
	}
	return nil
}

func sortedKeys(m map[string]any) []string {
	keys := make([]string, 0, len(m))
	for k := range m {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	return keys
}

// jsonFieldCache holds, per struct type, its JSON field names as written
// (embedded structs' fields promoted) and their types.
var jsonFieldCache sync.Map // reflect.Type → map[string]reflect.Type

func jsonFields(t reflect.Type) map[string]reflect.Type {
	if m, ok := jsonFieldCache.Load(t); ok {
		return m.(map[string]reflect.Type)
	}
	m := map[string]reflect.Type{}
	addJSONFields(t, m, 0)
	jsonFieldCache.Store(t, m)
	return m
}

func addJSONFields(t reflect.Type, m map[string]reflect.Type, depth int) {
	if depth > 8 {
		return
	}
	for i := 0; i < t.NumField(); i++ {
		f := t.Field(i)
		tag := f.Tag.Get("json")
		if tag == "-" {
			continue
		}
		name, _, _ := strings.Cut(tag, ",")
		ft := f.Type
		if f.Anonymous && name == "" {
			et := ft
			if et.Kind() == reflect.Pointer {
				et = et.Elem()
			}
			if et.Kind() == reflect.Struct {
				addJSONFields(et, m, depth+1)
				continue
			}
		}
		if !f.IsExported() {
			continue
		}
		if name == "" {
			name = f.Name
		}
		if _, ok := m[name]; !ok || depth == 0 {
			m[name] = ft
		}
	}
}
