package power

import (
	"bytes"
	"fmt"
	"log/slog"
	"os"

	"gopkg.in/yaml.v3"

	"github.com/cray-bos/bos/internal/xname"
)

// Credential is a BMC's Redfish user name and password.
type Credential struct {
	Username string `json:"username" yaml:"username"`
	Password string `json:"password" yaml:"password"`
}

// LogValue keeps the password out of logs.
func (c Credential) LogValue() slog.Value {
	return slog.GroupValue(slog.String("username", c.Username), slog.String("password", "<redacted>"))
}

// String keeps the password out of formatted output.
func (c Credential) String() string { return c.Username + ":<redacted>" }

// Credentials is where the reconciler gets BMC credentials: the stand-in for the Vault
// (secret/hms-creds/<bmc xname>) that PCS reads in a real deployment. HSM never returns
// passwords, so they do not come from HSM.
type Credentials struct {
	// Default is used for any BMC without its own entry (the simulator's is root/initial0).
	Default Credential `json:"default" yaml:"default"`
	// BMCs holds per-BMC credentials keyed by BMC xname.
	BMCs map[string]Credential `json:"bmcs,omitempty" yaml:"bmcs,omitempty"`
}

// For returns the credentials of bmc: its own entry, else Default.
func (c *Credentials) For(bmc string) Credential {
	if c == nil {
		return Credential{}
	}
	if cr, ok := c.BMCs[xname.Normalize(bmc)]; ok {
		return cr
	}
	return c.Default
}

// LoadCredentials reads a credentials file, YAML or JSON:
//
//	default: {username: root, password: initial0}
//	bmcs:
//	  x3000c0s1b0: {username: admin, password: secret}
//
// Errors never quote the file's contents.
func LoadCredentials(path string) (*Credentials, error) {
	raw, err := os.ReadFile(path)
	if err != nil {
		return nil, fmt.Errorf("bmc credentials: %w", err)
	}
	var c Credentials
	dec := yaml.NewDecoder(bytes.NewReader(raw))
	dec.KnownFields(true)
	if err := dec.Decode(&c); err != nil {
		return nil, fmt.Errorf("bmc credentials %s: not a credentials file (default, bmcs)", path)
	}
	bmcs := make(map[string]Credential, len(c.BMCs))
	for id, cr := range c.BMCs {
		n, _, err := xname.Parse(id)
		if err != nil {
			return nil, fmt.Errorf("bmc credentials %s: %q is not an xname", path, id)
		}
		bmcs[n] = cr
	}
	c.BMCs = bmcs
	return &c, nil
}
