package agent

import (
	"crypto/ecdsa"
	"crypto/elliptic"
	"crypto/rand"
	"crypto/x509"
	"crypto/x509/pkix"
	"encoding/pem"
	"errors"
	"fmt"
	"io/fs"
	"math/big"
	"net"
	"os"
	"path/filepath"
	"runtime"
	"strings"
	"time"

	"github.com/authtriage/authtriage/triage"
)

// GenerateCerts creates in dir what a first install needs for mutual TLS, all signed by
// one new CA and valid for validFor:
//
//	ca.pem, ca-key.pem                the CA: the agent's client CA, and the CA clients trust
//	server.pem, server-key.pem        the agent's certificate, for serverNames (DNS names or IPs)
//	NAME.pem, NAME-key.pem            a client certificate with CN NAME, for each of clientNames
//
// Keys are ECDSA P-256 in PKCS #8 PEM, readable by the owner only. It creates dir if
// needed, refuses to overwrite any file, and leaves no file behind when it fails.
func GenerateCerts(dir string, serverNames, clientNames []string, validFor time.Duration) error {
	return WriteCerts(dir, CertOptions{Servers: serverNames, Clients: clientNames, ValidFor: validFor, GID: -1})
}

// CertOptions are what WriteCerts makes.
type CertOptions struct {
	Servers  []string      // the agent's DNS names or IP addresses, as clients dial it
	Clients  []string      // the client identities (CN), one certificate each
	ValidFor time.Duration // how long every certificate is valid
	// GID, when not -1, is the group the files go to (Unix): the certificates
	// -rw-r--r-- and the agent's and clients' keys -rw-r----- to that group, so a
	// service running as a member reads them; the CA's key stays the owner's
	// alone, -rw-------. A folder WriteCerts creates is then drwxr-x--- to it.
	GID int
}

// WriteCerts writes the files GenerateCerts describes into dir, as o says.
func WriteCerts(dir string, o CertOptions) error {
	if err := checkCertNames(o.Servers, o.Clients, o.ValidFor); err != nil {
		return fmt.Errorf("generate certificates: %w", err)
	}
	files, err := makeCerts(o.Servers, o.Clients, o.ValidFor, time.Now())
	if err != nil {
		return fmt.Errorf("generate certificates: %w", err)
	}
	if err := makeDir(dir, o.GID); err != nil {
		return fmt.Errorf("generate certificates: %w", err)
	}
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		if _, err := os.Lstat(p); err == nil {
			return fmt.Errorf("generate certificates: %s already exists; move it away or choose another directory", p)
		} else if !errors.Is(err, fs.ErrNotExist) {
			return fmt.Errorf("generate certificates: %w", err)
		}
	}
	var written []string
	for _, f := range files {
		p := filepath.Join(dir, f.name)
		mode, gid := f.mode, -1
		if o.GID != -1 && f.name != caKeyFile {
			mode, gid = mode|0o040, o.GID
		}
		if err := writeNew(p, f.data, mode, gid); err != nil {
			for _, w := range written {
				os.Remove(w)
			}
			return fmt.Errorf("generate certificates: %w", err)
		}
		written = append(written, p)
	}
	return nil
}

// caKeyFile is the CA's key, which no service needs.
const caKeyFile = "ca-key.pem"

// makeDir creates dir if it does not exist: drwx------, or drwxr-x--- to group gid
// when gid is not -1. An existing folder is left as it is.
func makeDir(dir string, gid int) error {
	if _, err := os.Stat(dir); err == nil {
		return nil
	}
	mode := os.FileMode(0o700)
	if gid != -1 {
		mode = 0o750
	}
	if err := os.MkdirAll(dir, mode); err != nil {
		return err
	}
	if gid != -1 {
		if err := os.Chown(dir, -1, gid); err != nil {
			return err
		}
		return os.Chmod(dir, mode) // MkdirAll's mode is cut by the umask
	}
	return nil
}

// checkCertNames checks GenerateCerts's arguments, all problems at once.
func checkCertNames(serverNames, clientNames []string, validFor time.Duration) error {
	var errs []error
	if validFor <= 0 {
		errs = append(errs, errors.New("the validity must be longer than 0"))
	}
	if len(serverNames) == 0 {
		errs = append(errs, errors.New("no server name: give the agent's DNS name (or IP address) as clients dial it"))
	}
	for _, n := range serverNames {
		if net.ParseIP(n) == nil {
			if err := triage.ValidHostName(n); err != nil {
				errs = append(errs, fmt.Errorf("server name: %w", err))
			}
		}
	}
	if len(clientNames) == 0 {
		errs = append(errs, errors.New("no client name: give the identity of each client, such as the bot's"))
	}
	seen := map[string]bool{}
	for _, n := range clientNames {
		k := strings.ToLower(n)
		switch {
		case !validClientName(n):
			errs = append(errs, fmt.Errorf("client name %q: use 1 to 64 letters, digits, '.', '_' or '-', starting with a letter or digit", printable(n)))
		case k == "ca" || k == "server":
			errs = append(errs, fmt.Errorf("client name %q would overwrite the %s's files", n, k))
		case seen[k]:
			errs = append(errs, fmt.Errorf("client name %q is given twice (names are files, compared ignoring case)", n))
		}
		seen[k] = true
	}
	return errors.Join(errs...)
}

// validClientName reports whether a client name is safe as a file name and a CN.
func validClientName(s string) bool {
	if len(s) == 0 || len(s) > 64 {
		return false
	}
	for i, r := range s {
		alnum := (r >= 'a' && r <= 'z') || (r >= 'A' && r <= 'Z') || (r >= '0' && r <= '9')
		if !alnum && (i == 0 || !strings.ContainsRune("._-", r)) {
			return false
		}
	}
	return true
}

// certFile is one file GenerateCerts writes.
type certFile struct {
	name string
	data []byte
	mode os.FileMode
}

// makeCerts makes the CA, the server's and the clients' certificates in memory.
func makeCerts(serverNames, clientNames []string, validFor time.Duration, now time.Time) ([]certFile, error) {
	notBefore, notAfter := now.Add(-5*time.Minute), now.Add(validFor) // a little slack for skewed clocks
	caKey, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
	if err != nil {
		return nil, err
	}
	caSerial := serial()
	ca := &x509.Certificate{
		SerialNumber:          caSerial,
		Subject:               pkix.Name{CommonName: fmt.Sprintf("authtriage agent CA %x", caSerial.Bytes()[:4])},
		NotBefore:             notBefore,
		NotAfter:              notAfter,
		IsCA:                  true,
		BasicConstraintsValid: true,
		MaxPathLenZero:        true,
		KeyUsage:              x509.KeyUsageCertSign | x509.KeyUsageCRLSign | x509.KeyUsageDigitalSignature,
	}
	caDER, err := x509.CreateCertificate(rand.Reader, ca, ca, caKey.Public(), caKey)
	if err != nil {
		return nil, err
	}
	if ca, err = x509.ParseCertificate(caDER); err != nil {
		return nil, err
	}
	var files []certFile
	add := func(base string, der []byte, key *ecdsa.PrivateKey) error {
		keyDER, err := x509.MarshalPKCS8PrivateKey(key)
		if err != nil {
			return err
		}
		files = append(files,
			certFile{base + ".pem", pem.EncodeToMemory(&pem.Block{Type: "CERTIFICATE", Bytes: der}), 0o644},
			certFile{base + "-key.pem", pem.EncodeToMemory(&pem.Block{Type: "PRIVATE KEY", Bytes: keyDER}), 0o600})
		return nil
	}
	if err := add(strings.TrimSuffix(caKeyFile, "-key.pem"), caDER, caKey); err != nil {
		return nil, err
	}
	leaf := func(base string, tmpl *x509.Certificate) error {
		key, err := ecdsa.GenerateKey(elliptic.P256(), rand.Reader)
		if err != nil {
			return err
		}
		tmpl.SerialNumber, tmpl.NotBefore, tmpl.NotAfter = serial(), notBefore, notAfter
		tmpl.KeyUsage = x509.KeyUsageDigitalSignature
		tmpl.BasicConstraintsValid = true
		der, err := x509.CreateCertificate(rand.Reader, tmpl, ca, key.Public(), caKey)
		if err != nil {
			return err
		}
		return add(base, der, key)
	}
	server := &x509.Certificate{Subject: pkix.Name{CommonName: serverNames[0]}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageServerAuth}}
	for _, n := range serverNames {
		if ip := net.ParseIP(n); ip != nil {
			server.IPAddresses = append(server.IPAddresses, ip)
		} else {
			server.DNSNames = append(server.DNSNames, n)
		}
	}
	if err := leaf("server", server); err != nil {
		return nil, err
	}
	for _, n := range clientNames {
		client := &x509.Certificate{Subject: pkix.Name{CommonName: n}, ExtKeyUsage: []x509.ExtKeyUsage{x509.ExtKeyUsageClientAuth}}
		if err := leaf(n, client); err != nil {
			return nil, err
		}
	}
	return files, nil
}

// serial returns a random 127-bit certificate serial number.
func serial() *big.Int {
	n, _ := rand.Int(rand.Reader, new(big.Int).Lsh(big.NewInt(1), 127)) // never fails (crypto/rand)
	return n.SetBit(n, 126, 1)                                          // full length, so its first bytes exist
}

// writeNew writes a file that must not exist yet, with mode exactly (whatever the
// umask) and, when gid is not -1, to group gid. The file is created readable by
// the owner only and given to the group before anything is written to it.
func writeNew(path string, data []byte, mode os.FileMode, gid int) error {
	f, err := os.OpenFile(path, os.O_WRONLY|os.O_CREATE|os.O_EXCL, 0o600)
	if err != nil {
		return err
	}
	fail := func(err error) error {
		f.Close()
		os.Remove(path)
		return err
	}
	if gid != -1 {
		if err := f.Chown(-1, gid); err != nil {
			return fail(fmt.Errorf("give %s to group %d: %w", path, gid, err))
		}
	}
	if runtime.GOOS != "windows" {
		if err := f.Chmod(mode); err != nil {
			return fail(err)
		}
	}
	if _, err := f.Write(data); err != nil {
		return fail(err)
	}
	if err := f.Close(); err != nil {
		os.Remove(path)
		return err
	}
	return nil
}
