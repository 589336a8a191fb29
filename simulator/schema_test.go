package simulator

import (
	"bytes"
	"encoding/json"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"slices"
	"strings"
	"sync"
	"testing"

	"github.com/santhosh-tekuri/jsonschema/v6"
	"github.com/stretchr/testify/assert"
	"github.com/stretchr/testify/require"
	xmessage "golang.org/x/text/message"
)

// The DMTF Redfish JSON schemas (DSP8010) the simulator's resources are checked against:
// copies, unchanged, of the files its @odata.types name and what those reference, under
// DMTF's licence (testdata/redfish-schema/LICENSE.md).
const schemaDir = "testdata/redfish-schema"

const (
	schemaURLPrefix    = "http://redfish.dmtf.org/schemas/v1/"
	swordfishURLPrefix = "http://redfish.dmtf.org/schemas/swordfish/"
)

// schemaLoader serves the DMTF schema URLs from schemaDir; the draft-07 meta-schema is
// built into the library.
type schemaLoader struct{}

func (schemaLoader) Load(url string) (any, error) {
	name, ok := strings.CutPrefix(url, schemaURLPrefix)
	if !ok {
		return nil, fmt.Errorf("schema %s is not a DMTF Redfish schema", url)
	}
	if !strings.HasSuffix(name, ".json") {
		name += ".json" // redfish-schema-v1.json's own $id has no suffix
	}
	path := filepath.Join(schemaDir, name)
	if _, err := os.Stat(path); err != nil {
		// DSP8010 as copied holds the newest version of each schema only; schemas refer
		// to older ones, of which the newest minor version is a superset.
		path, err = newestMinor(name)
		if err != nil {
			return nil, fmt.Errorf("schema %s: %w (copy it from DMTF's DSP8010 into %s)", url, err, schemaDir)
		}
	}
	f, err := os.Open(path)
	if err != nil {
		return nil, err
	}
	loadedSchemas.Store(filepath.Base(path), true)
	defer f.Close()
	doc, err := jsonschema.UnmarshalJSON(f)
	if m, ok := doc.(map[string]any); ok {
		m["$id"] = url // the file stands in for the version asked for
	}
	dropSwordfish(doc)
	linksOnly(name, doc)
	requiredIsNotDeprecated(doc)
	return doc, err
}

// requiredIsNotDeprecated lifts the deprecation of properties a schema still requires
// (Event's EventType, whose type is deprecated as a whole): the simulator must send them.
// A deprecated type is still caught where a property using it is deprecated.
func requiredIsNotDeprecated(v any) {
	switch v := v.(type) {
	case map[string]any:
		if defs, ok := v["definitions"].(map[string]any); ok {
			for _, d := range defs {
				if d, ok := d.(map[string]any); ok {
					delete(d, "deprecated")
				}
			}
		}
		props, _ := v["properties"].(map[string]any)
		req, _ := v["required"].([]any)
		for _, r := range req {
			name, _ := r.(string)
			if p, ok := props[name].(map[string]any); ok {
				delete(p, "deprecated")
			}
		}
		for _, x := range v {
			requiredIsNotDeprecated(x)
		}
	case []any:
		for _, x := range v {
			requiredIsNotDeprecated(x)
		}
	}
}

const idRef = schemaURLPrefix + "odata-v4.json#/definitions/idRef"

// linksOnly makes a resource's unversioned definition ("Bios.json#/definitions/Bios",
// anyOf a reference or any version of the resource) a reference only. Other resources
// refer to it for their navigation properties, which the simulator never expands; the
// linked resource is checked against its own version when the walk reaches it. Without
// this every schema pulls in nearly all of DSP8010, which takes minutes to compile.
func linksOnly(name string, doc any) {
	base, ok := strings.CutSuffix(name, ".json")
	if !ok || strings.Contains(base, ".") {
		return
	}
	m, _ := doc.(map[string]any)
	defs, _ := m["definitions"].(map[string]any)
	def, _ := defs[base].(map[string]any)
	anyOf, _ := def["anyOf"].([]any)
	if len(anyOf) < 2 || !slices.ContainsFunc(anyOf, func(v any) bool {
		r, _ := v.(map[string]any)
		return r["$ref"] == idRef
	}) {
		return
	}
	// A collection's definition is anyOf a reference or the collection itself: kept.
	if slices.ContainsFunc(anyOf, func(v any) bool {
		r, _ := v.(map[string]any)
		_, isRef := r["$ref"]
		return !isRef
	}) {
		return
	}
	defs[base] = map[string]any{"$ref": idRef}
}

func isSwordfishRef(v any) bool {
	m, _ := v.(map[string]any)
	ref, _ := m["$ref"].(string)
	return strings.HasPrefix(ref, swordfishURLPrefix)
}

// dropSwordfish replaces references to SNIA Swordfish storage schemas (not part of
// DSP8010, and only behind properties the simulator never emits) by the empty schema.
func dropSwordfish(v any) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if isSwordfishRef(x) {
				v[k] = map[string]any{}
				continue
			}
			dropSwordfish(x)
		}
	case []any:
		for i, x := range v {
			if isSwordfishRef(x) {
				v[i] = map[string]any{}
				continue
			}
			dropSwordfish(x)
		}
	}
}

var loadedSchemas sync.Map // file names, for keeping testdata to what is used

var versionedName = regexp.MustCompile(`^([A-Za-z]+)\.v(\d+)_\d+_\d+\.json$`)

// newestMinor finds the file holding the newest version of name's schema with the same
// major version ("Bios.v1_0_12.json" → "Bios.v1_2_3.json").
func newestMinor(name string) (string, error) {
	m := versionedName.FindStringSubmatch(name)
	if m == nil {
		return "", os.ErrNotExist
	}
	found, _ := filepath.Glob(filepath.Join(schemaDir, m[1]+".v"+m[2]+"_*.json"))
	if len(found) == 0 {
		return "", os.ErrNotExist
	}
	slices.Sort(found)
	return found[len(found)-1], nil
}

// ecmaRegexp compiles the schemas' patterns. They are ECMA-262; the few that RE2 cannot
// take use a character class escape RE2 spells differently.
func ecmaRegexp(s string) (jsonschema.Regexp, error) {
	re, err := regexp.Compile(s)
	if err != nil {
		return nil, err
	}
	return re, nil
}

var (
	schemaCompilerOnce sync.Once
	schemaCompiler     *jsonschema.Compiler
	schemaCache        sync.Map // url → *jsonschema.Schema
)

// redfishSchema compiles (once) the schema an @odata.type names: "#Chassis.v1_27_0.Chassis"
// is Chassis.v1_27_0.json's Chassis definition, "#ChassisCollection.ChassisCollection" the
// unversioned ChassisCollection.json's.
func redfishSchema(t testing.TB, odataType string) *jsonschema.Schema {
	t.Helper()
	parts := strings.Split(strings.TrimPrefix(odataType, "#"), ".")
	require.GreaterOrEqual(t, len(parts), 2, "@odata.type %q", odataType)
	file := strings.Join(parts[:len(parts)-1], ".") + ".json"
	url := schemaURLPrefix + file + "#/definitions/" + parts[len(parts)-1]
	_, err := os.Stat(filepath.Join(schemaDir, file))
	require.NoError(t, err, "@odata.type %s names a schema version DSP8010 (as copied here) does not hold", odataType)
	if v, ok := schemaCache.Load(url); ok {
		return v.(*jsonschema.Schema)
	}
	schemaCompilerOnce.Do(func() {
		c := jsonschema.NewCompiler()
		c.UseLoader(jsonschema.SchemeURLLoader{"http": schemaLoader{}, "https": schemaLoader{}})
		c.UseRegexpEngine(ecmaRegexp)
		c.AssertFormat()
		c.RegisterVocabulary(&jsonschema.Vocabulary{URL: "urn:cray-bos:redfish-deprecated", Compile: compileDeprecated})
		schemaCompiler = c
	})
	sch, err := schemaCompiler.Compile(url)
	require.NoError(t, err, "compile the schema of %s", odataType)
	schemaCache.Store(url, sch)
	return sch
}

// odataIDs collects every @odata.id in a JSON value, outside the Links of a resource
// excepted nothing: a generic client follows them all.
func odataIDs(v any, out map[string]bool) {
	switch v := v.(type) {
	case map[string]any:
		for k, x := range v {
			if s, ok := x.(string); ok && k == "@odata.id" {
				out[s] = true
			}
			odataIDs(x, out)
		}
	case []any:
		for _, x := range v {
			odataIDs(x, out)
		}
	}
}

// walkRedfish GETs every resource reachable from /redfish/v1 by @odata.id links and calls
// visit with each path and its decoded body. Every link must resolve (200).
func walkRedfish(t *testing.T, base string, visit func(path string, body map[string]any, raw []byte)) []string {
	t.Helper()
	seen := map[string]bool{"/redfish/v1": true}
	queue := []string{"/redfish/v1"}
	for len(queue) > 0 {
		path := queue[0]
		queue = queue[1:]
		r := call(t, base, "GET", path, "", "basic")
		if !assert.Equal(t, 200, r.status, "GET %s: %s", path, r.body) {
			continue
		}
		body := r.json(t)
		visit(path, body, r.body)
		links := map[string]bool{}
		odataIDs(body, links)
		for l := range links {
			l, _, _ = strings.Cut(l, "#") // a fragment names a part of a resource
			l = strings.TrimRight(l, "/")
			if !seen[l] {
				seen[l] = true
				queue = append(queue, l)
			}
		}
	}
	paths := make([]string, 0, len(seen))
	for p := range seen {
		paths = append(paths, p)
	}
	slices.Sort(paths)
	return paths
}

// Every resource of both BMC models validates against the DMTF schema of the version its
// @odata.type names, and names the resource it was fetched from.
func TestResourcesValidateAgainstDMTFSchemas(t *testing.T) {
	s := newSim(t, nil)
	for _, bmcX := range []string{bladeBMC, rackBMC} {
		t.Run(bmcX, func(t *testing.T) {
			srv := bmcServer(t, s, bmcX)
			// A session and a subscription, so their resources are walked too.
			require.Equal(t, 201, call(t, srv.URL, "POST", "/redfish/v1/SessionService/Sessions", `{"UserName":"root","Password":"initial0"}`, "").status)
			require.Equal(t, 201, call(t, srv.URL, "POST", "/redfish/v1/EventService/Subscriptions",
				`{"Destination":"http://127.0.0.1:9/e","Context":"c","Protocol":"Redfish"}`, "basic").status)
			types := map[string]bool{}
			paths := walkRedfish(t, srv.URL, func(path string, body map[string]any, raw []byte) {
				typ, _ := body["@odata.type"].(string)
				if !assert.NotEmpty(t, typ, "%s has no @odata.type", path) {
					return
				}
				types[typ] = true
				id, _ := body["@odata.id"].(string)
				assert.Equal(t, path, strings.TrimRight(id, "/"), "@odata.id of %s", path)
				inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
				require.NoError(t, err)
				if err := redfishSchema(t, typ).Validate(inst); err != nil {
					t.Errorf("GET %s (%s) does not validate:\n%v", path, typ, err)
				}
			})
			t.Logf("%d resources, %d types", len(paths), len(types))
			// $metadata references the namespace of every type served.
			meta := string(call(t, srv.URL, "GET", "/redfish/v1/$metadata", "", "").body)
			for typ := range types {
				ns := strings.TrimPrefix(typ, "#")
				ns = ns[:strings.LastIndexByte(ns, '.')]
				assert.Contains(t, meta, `<edmx:Include Namespace="`+ns+`"/>`, "$metadata lacks %s", typ)
			}
			// The resources generic clients walk are all there.
			for _, p := range []string{"/Processors/CPU1", "/Memory/DIMM1", "/EthernetInterfaces/1", "/Storage/1",
				"/SimpleStorage/1", "/Bios", "/SecureBoot", "/LogServices"} {
				assert.Contains(t, paths, "/redfish/v1/Systems/"+sysID(bmcX)+p)
			}
			mgr := "/redfish/v1/Managers/" + map[string]string{bladeBMC: "BMC", rackBMC: "Self"}[bmcX]
			for _, p := range []string{mgr + "/NetworkProtocol", mgr + "/EthernetInterfaces/1", "/redfish/v1/Chassis/" + sysID(bmcX) + "/PowerSubsystem",
				"/redfish/v1/Chassis/" + sysID(bmcX) + "/ThermalSubsystem", "/redfish/v1/AccountService/Accounts/1",
				"/redfish/v1/AccountService/Roles/ReadOnly", "/redfish/v1/TaskService/Tasks", "/redfish/v1/UpdateService/FirmwareInventory/BMC",
				"/redfish/v1/Registries/Base", "/redfish/v1/SessionService/Sessions/1", "/redfish/v1/EventService/Subscriptions/1"} {
				assert.Contains(t, paths, p)
			}
		})
	}
}

func sysID(bmcX string) string {
	if bmcX == rackBMC {
		return "Self"
	}
	return "Node0"
}

// validateEvent checks an event POST body against the Event schema its @odata.type names.
func validateEvent(t *testing.T, raw []byte) {
	t.Helper()
	var v map[string]any
	require.NoError(t, json.Unmarshal(raw, &v))
	inst, err := jsonschema.UnmarshalJSON(bytes.NewReader(raw))
	require.NoError(t, err)
	typ, _ := v["@odata.type"].(string)
	if err := redfishSchema(t, typ).Validate(inst); err != nil {
		t.Errorf("event %s does not validate:\n%v", raw, err)
	}
}

// Guard the walk itself: a resource that breaks its schema is caught.
func TestSchemaCheckCatchesInvalidResources(t *testing.T) {
	sch := redfishSchema(t, "#ComputerSystem.v1_27_0.ComputerSystem")
	valid := `{"@odata.id":"/redfish/v1/Systems/1","@odata.type":"#ComputerSystem.v1_27_0.ComputerSystem","Id":"1","Name":"n"}`
	for name, doc := range map[string]string{
		"enum value not in the list": `{"@odata.id":"/redfish/v1/Systems/1","@odata.type":"#ComputerSystem.v1_27_0.ComputerSystem","Id":"1","Name":"n","PowerState":"Sideways"}`,
		"unknown property":           `{"@odata.id":"/redfish/v1/Systems/1","@odata.type":"#ComputerSystem.v1_27_0.ComputerSystem","Id":"1","Name":"n","Colour":"red"}`,
		"required property missing":  `{"@odata.id":"/redfish/v1/Systems/1","@odata.type":"#ComputerSystem.v1_27_0.ComputerSystem","Id":"1"}`,
		"deprecated property":        `{"@odata.id":"/redfish/v1/Systems/1","@odata.type":"#ComputerSystem.v1_27_0.ComputerSystem","Id":"1","Name":"n","IndicatorLED":"Off"}`,
		"deprecated enum value":      `{"@odata.id":"/redfish/v1/Systems/1","@odata.type":"#ComputerSystem.v1_27_0.ComputerSystem","Id":"1","Name":"n","SystemType":"OS"}`,
	} {
		var v any
		require.NoError(t, json.Unmarshal([]byte(doc), &v))
		assert.Error(t, sch.Validate(v), name)
	}
	var v any
	require.NoError(t, json.Unmarshal([]byte(valid), &v))
	assert.NoError(t, sch.Validate(v))
}

// DSP8010 marks deprecated properties with "deprecated" and deprecated enum values with
// "enumDeprecated". The simulator emits neither: a property whose schema is deprecated, or
// a deprecated value, fails validation.
type deprecated struct {
	property string            // the deprecation text of the property's schema
	values   map[string]string // deprecated enum value → text
}

func compileDeprecated(_ *jsonschema.CompilerContext, obj map[string]any) (jsonschema.SchemaExt, error) {
	d := deprecated{}
	d.property, _ = obj["deprecated"].(string)
	if vals, ok := obj["enumDeprecated"].(map[string]any); ok {
		d.values = map[string]string{}
		for k, v := range vals {
			d.values[k], _ = v.(string)
		}
	}
	if d.property == "" && d.values == nil {
		return nil, nil
	}
	return d, nil
}

func (d deprecated) Validate(ctx *jsonschema.ValidatorContext, v any) {
	if d.property != "" {
		ctx.AddError(deprecatedUse{d.property})
		return
	}
	if s, ok := v.(string); ok {
		if text, ok := d.values[s]; ok {
			ctx.AddError(deprecatedUse{"value " + s + ": " + text})
		}
	}
}

type deprecatedUse struct{ text string }

func (deprecatedUse) KeywordPath() []string { return []string{"deprecated"} }

func (e deprecatedUse) LocalizedString(*xmessage.Printer) string { return "deprecated: " + e.text }
