package otlp

import (
	"fmt"
	"strings"
	"unicode/utf8"

	"go.opentelemetry.io/collector/pdata/pcommon"
)

// Attribute keys with a meaning of their own.
const (
	keyServiceName  = "service.name"
	keyModelName    = "ml.model.name"
	keyModelVersion = "ml.model.version"
	unknownService  = "unknown_service"
)

// keptResourceKeys are the resource attributes copied onto every record;
// k8s.* keys are kept too.
var keptResourceKeys = map[string]bool{
	"service.namespace":           true,
	"service.instance.id":         true,
	"service.version":             true,
	"deployment.environment":      true,
	"deployment.environment.name": true,
	"host.name":                   true,
}

// origin is what a resource says about where its records come from.
type origin struct {
	service, model, version string
	attrs                   map[string]string
}

// errBadUTF8 reports a name, key or value that is not valid UTF-8.
type errBadUTF8 struct{ what string }

func (e errBadUTF8) Error() string { return e.what + " is not valid UTF-8" }

// resourceOrigin reads a resource's service, model and kept attributes.
func resourceOrigin(res pcommon.Resource) (origin, error) {
	o := origin{service: unknownService, attrs: map[string]string{}}
	var err error
	res.Attributes().Range(func(k string, v pcommon.Value) bool {
		if !keptResourceKeys[k] && !strings.HasPrefix(k, "k8s.") && k != keyServiceName && k != keyModelName && k != keyModelVersion {
			return true
		}
		s := v.AsString()
		if !utf8.ValidString(k) || !utf8.ValidString(s) {
			err = errBadUTF8{fmt.Sprintf("resource attribute %q", k)}
			return false
		}
		switch k {
		case keyServiceName:
			if s != "" {
				o.service = s
			}
		case keyModelName:
			o.model = s
		case keyModelVersion:
			o.version = s
		default:
			o.attrs[k] = s
		}
		return true
	})
	return o, err
}

// scoped is one record's service, model and attributes.
type scoped struct {
	service, model, version string
	attrs                   map[string]string
}

// scope merges a record's own attributes over its resource's origin; the
// record's ml.model.* win.
func (o origin) scope(m pcommon.Map) (scoped, error) {
	s := scoped{service: o.service, model: o.model, version: o.version}
	if n := len(o.attrs) + m.Len(); n > 0 {
		s.attrs = make(map[string]string, n)
	}
	for k, v := range o.attrs {
		s.attrs[k] = v
	}
	var err error
	m.Range(func(k string, v pcommon.Value) bool {
		str := v.AsString()
		if !utf8.ValidString(k) || !utf8.ValidString(str) {
			err = errBadUTF8{fmt.Sprintf("attribute %q", k)}
			return false
		}
		switch k {
		case keyModelName:
			s.model = str
		case keyModelVersion:
			s.version = str
		default:
			s.attrs[k] = str
		}
		return true
	})
	return s, err
}
