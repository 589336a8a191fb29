package uuid

import (
	"regexp"
	"testing"

	"github.com/stretchr/testify/assert"
)

var shape = regexp.MustCompile(`^[0-9a-f]{8}-[0-9a-f]{4}-([45])[0-9a-f]{3}-[89ab][0-9a-f]{3}-[0-9a-f]{12}$`)

func TestNew(t *testing.T) {
	a, b := New(), New()
	assert.NotEqual(t, a, b)
	assert.Equal(t, "4", shape.FindStringSubmatch(a)[1], a)
}

func TestFromName(t *testing.T) {
	ns := []byte("namespace")
	a := FromName(ns, "cos-3.1.0-x86_64")
	assert.Equal(t, a, FromName(ns, "cos-3.1.0-x86_64"), "stable")
	assert.NotEqual(t, a, FromName(ns, "cos-3.2.0-x86_64"))
	assert.NotEqual(t, a, FromName([]byte("other"), "cos-3.1.0-x86_64"))
	assert.Equal(t, "5", shape.FindStringSubmatch(a)[1], a)
}
