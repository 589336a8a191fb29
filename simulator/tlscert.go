package simulator

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/tls"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"math/big"
	"net"
	"net/netip"
	"sync"
	"time"
)

// certAuthority signs one ECDSA P-256 certificate per BMC (IP SAN = its address, DNS SAN
// = its xname), made on the BMC's first TLS handshake and kept. ECDSA, because RSA-2048
// handshakes cost twice as much on this kind of machine (see the Redfish reference).
type certAuthority struct {
	cert    *x509.Certificate
	key     *ecdsa.PrivateKey
	certPEM []byte

	mu     sync.Mutex
	leaves map[*bmc]*tls.Certificate
	serial int64
}

func newCertAuthority() (*certAuthority, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, fmt.Errorf("ca key: %w", err)
	}
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(1), Subject: pkix.Name{CommonName: "BMC simulator CA", Organization: []string{"cray-bos simulator"}},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(10, 0, 0),
		IsCA: true, BasicConstraintsValid: true, KeyUsage: x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature,
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, fmt.Errorf("ca certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, fmt.Errorf("ca certificate: %w", err)
	}
	return &certAuthority{cert: cert, key: key, certPEM: pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}),
		leaves: map[*bmc]*tls.Certificate{}, serial: 1}, nil
}

// leaf is b's certificate; names are further DNS names it holds (the advertised host).
func (ca *certAuthority) leaf(b *bmc, names ...string) (*tls.Certificate, error) {
	ca.mu.Lock()
	defer ca.mu.Unlock()
	if c := ca.leaves[b]; c != nil {
		return c, nil
	}
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	ca.serial++
	tmpl := &x509.Certificate{
		SerialNumber: big.NewInt(ca.serial), Subject: pkix.Name{CommonName: b.xname},
		NotBefore: time.Now().Add(-time.Hour), NotAfter: time.Now().AddDate(5, 0, 0),
		KeyUsage: x509.KeyUsageDigitalSignature, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth},
		IPAddresses: []net.IP{net.IP(b.addr.AsSlice())}, DNSNames: append([]string{b.xname}, names...),
	}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca.cert, &key.PublicKey, ca.key)
	if err != nil {
		return nil, err
	}
	c := &tls.Certificate{Certificate: [][]byte{der, ca.cert.Raw}, PrivateKey: key}
	ca.leaves[b] = c
	return c, nil
}

// certificateFor picks the certificate of the BMC whose address the client dialled.
func (s *Simulator) certificateFor(hello *tls.ClientHelloInfo) (*tls.Certificate, error) {
	if _, ok := hello.Conn.LocalAddr().(*net.TCPAddr); !ok {
		return nil, errors.New("tls: not a TCP connection")
	}
	b := s.bmcAt(hello.Conn.LocalAddr())
	if b == nil {
		return nil, fmt.Errorf("tls: no BMC at %s", hello.Conn.LocalAddr())
	}
	if _, err := netip.ParseAddr(s.cfg.Advertise); s.portPerBMC() && err != nil {
		return s.certs.leaf(b, s.cfg.Advertise) // a host name
	}
	return s.certs.leaf(b)
}
