package api

import (
	_ "embed"
	"encoding/json"
	"fmt"
	"net/http"

	"github.com/gin-gonic/gin"
	"gopkg.in/yaml.v3"
)

// openapiYAML is the API description, kept beside the route table; a test checks that
// both list the same routes.
//
//go:embed openapi.yaml
var openapiYAML []byte

// openapiJSON is openapiYAML converted once at start.
var openapiJSON = func() []byte {
	var doc any
	if err := yaml.Unmarshal(openapiYAML, &doc); err != nil {
		panic(fmt.Sprintf("openapi.yaml: %v", err))
	}
	out, err := json.Marshal(doc)
	if err != nil {
		panic(fmt.Sprintf("openapi.yaml to JSON: %v", err))
	}
	return out
}()

// OpenAPI returns the API description as JSON.
func OpenAPI() []byte { return append([]byte(nil), openapiJSON...) }

func (s *Server) getOpenAPI(c *gin.Context) error {
	c.Data(http.StatusOK, "application/json", openapiJSON)
	return nil
}
