package testbed

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/csv"
	"encoding/hex"
	"encoding/pem"
	"fmt"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"time"
)

// Files a cluster keeps in its folder, written once at Start and reused by
// Restart, so a restarted API server presents the same identity.
const (
	caCertFile     = "ca.crt"
	servingCert    = "apiserver.crt"
	servingKey     = "apiserver.key"
	saKeyFile      = "service-account.key"
	tokenFile      = "tokens.csv"
	adminUser      = "admin"
	mastersGroup   = "system:masters"
	certValidity   = 7 * 24 * time.Hour
	certBackdating = time.Hour
)

// writeCredentials creates the cluster's certificate authority, the API
// server's serving certificate for 127.0.0.1 and localhost, the
// service-account signing key and the static token file. It returns the CA
// certificate in PEM and a token for each user, the admin included.
func writeCredentials(dir, name string, users []string) (caPEM []byte, tokens map[string]string, err error) {
	ca, caKey, caPEM, err := newCA(name)
	if err != nil {
		return nil, nil, err
	}
	if err := os.WriteFile(filepath.Join(dir, caCertFile), caPEM, 0o600); err != nil {
		return nil, nil, err
	}
	if err := writeServingCert(dir, ca, caKey); err != nil {
		return nil, nil, err
	}
	if err := writeKey(filepath.Join(dir, saKeyFile)); err != nil {
		return nil, nil, err
	}
	tokens, err = writeTokens(filepath.Join(dir, tokenFile), users)
	return caPEM, tokens, err
}

func newCA(name string) (*x509.Certificate, *ecdsa.PrivateKey, []byte, error) {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, nil, nil, err
	}
	tmpl := certTemplate("testbed-ca-" + name)
	tmpl.IsCA = true
	tmpl.BasicConstraintsValid = true
	tmpl.KeyUsage = x509.KeyUsageCertSign | x509.KeyUsageDigitalSignature
	der, err := x509.CreateCertificate(rand.Reader, tmpl, tmpl, &key.PublicKey, key)
	if err != nil {
		return nil, nil, nil, fmt.Errorf("create CA certificate: %w", err)
	}
	cert, err := x509.ParseCertificate(der)
	if err != nil {
		return nil, nil, nil, err
	}
	return cert, key, pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), nil
}

func writeServingCert(dir string, ca *x509.Certificate, caKey *ecdsa.PrivateKey) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	tmpl := certTemplate("kube-apiserver")
	tmpl.KeyUsage = x509.KeyUsageDigitalSignature
	tmpl.ExtKeyUsage = []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}
	tmpl.IPAddresses = []net.IP{net.IPv4(127, 0, 0, 1)}
	tmpl.DNSNames = []string{"localhost", "kubernetes", "kubernetes.default",
		"kubernetes.default.svc", "kubernetes.default.svc.cluster.local"}
	der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, &key.PublicKey, caKey)
	if err != nil {
		return fmt.Errorf("create serving certificate: %w", err)
	}
	certPEM := pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der})
	if err := os.WriteFile(filepath.Join(dir, servingCert), certPEM, 0o600); err != nil {
		return err
	}
	return writeKeyPEM(filepath.Join(dir, servingKey), key)
}

func certTemplate(cn string) *x509.Certificate {
	serial, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 62))
	now := time.Now()
	return &x509.Certificate{
		SerialNumber: serial,
		Subject:      pkix.Name{CommonName: cn, Organization: []string{"peerdns testbed"}},
		NotBefore:    now.Add(-certBackdating),
		NotAfter:     now.Add(certValidity),
	}
}

func writeKey(path string) error {
	key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return err
	}
	return writeKeyPEM(path, key)
}

func writeKeyPEM(path string, key *ecdsa.PrivateKey) error {
	der, err := x509.MarshalECPrivateKey(key)
	if err != nil {
		return err
	}
	return os.WriteFile(path, pem.EncodeToMemory(&pem.Block{Type: "EC PRIVATE KEY", Bytes: der}), 0o600)
}

// writeTokens writes kube-apiserver's static token file: token, user, uid,
// groups. The admin is in system:masters, which RBAC never restricts; the
// other users are in no group, so they can do nothing RBAC does not grant.
func writeTokens(path string, users []string) (map[string]string, error) {
	f, err := os.OpenFile(path, os.O_CREATE|os.O_EXCL|os.O_WRONLY, 0o600)
	if err != nil {
		return nil, err
	}
	defer f.Close()
	w := csv.NewWriter(f)
	tokens := make(map[string]string, len(users)+1)
	for _, user := range append([]string{adminUser}, users...) {
		if _, dup := tokens[user]; dup {
			return nil, fmt.Errorf("user %q listed twice", user)
		}
		tokens[user] = newToken()
		record := []string{tokens[user], user, user}
		if user == adminUser {
			record = append(record, mastersGroup)
		}
		if err := w.Write(record); err != nil {
			return nil, err
		}
	}
	w.Flush()
	if err := w.Error(); err != nil {
		return nil, err
	}
	return tokens, f.Close()
}

func newToken() string {
	b := make([]byte, 16)
	_, _ = rand.Read(b)
	return hex.EncodeToString(b)
}
