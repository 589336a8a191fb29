package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"
	"sync"

	"github.com/gin-gonic/gin"
	"gopkg.in/yaml.v3"
)

// openapiYAML is the API description, kept beside the route table; a test checks that
// both list the same routes.
//
//go:embed openapi.yaml
var openapiYAML []byte

// openapiJSON is openapiYAML as JSON, converted on first use.
var openapiJSON = yamlAsJSON("openapi.yaml", openapiYAML)

// yamlAsJSON converts an embedded API description to JSON once, on first use, so that
// neither start-up nor processes that never serve it pay for the conversion. A bad
// description is a build bug: the OpenAPI tests catch it.
func yamlAsJSON(name string, doc []byte) func() []byte {
	return sync.OnceValue(func() []byte {
		var v any
		if err := yaml.Unmarshal(doc, &v); err != nil {
			panic(fmt.Sprintf("%s: %v", name, err))
		}
		out, err := json.Marshal(v)
		if err != nil {
			panic(fmt.Sprintf("%s to JSON: %v", name, err))
		}
		return out
	})
}

// OpenAPI returns the API description as JSON.
func OpenAPI() []byte { return append([]byte(nil), openapiJSON()...) }

func (s *Server) getOpenAPI(c *gin.Context) error {
	c.Data(http.StatusOK, "application/json", openapiJSON())
	return nil
}
