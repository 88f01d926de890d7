package agent

import (
	"context"
	"crypto/tls"
	"crypto/x509"
	"errors"
	"fmt"

	"github.com/authtriage/authtriage/internal/safefile"
)

// maxPEMFile bounds a certificate, key or CA file.
const maxPEMFile = 1 << 20

// ServerTLS returns the agent's TLS configuration: its certificate and key, TLS 1.2 or
// later (1.3 when the client has it), and a client certificate signed by the CA in
// clientCAFile required on every connection. The files are opened under ctx with
// safefile and must be regular files.
func ServerTLS(ctx context.Context, certFile, keyFile, clientCAFile string) (*tls.Config, error) {
	cert, err := loadKeyPair(ctx, certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load the agent's certificate: %w", err)
	}
	pool, err := loadPool(ctx, clientCAFile)
	if err != nil {
		return nil, fmt.Errorf("load the client CA: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		ClientAuth:   tls.RequireAndVerifyClientCert,
		ClientCAs:    pool,
	}, nil
}

// clientTLS returns a client's TLS configuration: its certificate, and only the CA in
// caFile trusted for the agent's. The files are opened under ctx with safefile and
// must be regular files.
func clientTLS(ctx context.Context, certFile, keyFile, caFile, serverName string) (*tls.Config, error) {
	cert, err := loadKeyPair(ctx, certFile, keyFile)
	if err != nil {
		return nil, fmt.Errorf("load the client certificate: %w", err)
	}
	pool, err := loadPool(ctx, caFile)
	if err != nil {
		return nil, fmt.Errorf("load the agent's CA: %w", err)
	}
	return &tls.Config{
		MinVersion:   tls.VersionTLS12,
		Certificates: []tls.Certificate{cert},
		RootCAs:      pool,
		ServerName:   serverName,
	}, nil
}

// loadKeyPair reads a certificate and its private key from PEM files, as
// tls.LoadX509KeyPair does.
func loadKeyPair(ctx context.Context, certFile, keyFile string) (tls.Certificate, error) {
	certPEM, err := safefile.ReadFile(ctx, certFile, maxPEMFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	keyPEM, err := safefile.ReadFile(ctx, keyFile, maxPEMFile)
	if err != nil {
		return tls.Certificate{}, err
	}
	return tls.X509KeyPair(certPEM, keyPEM)
}

// loadPool reads the PEM certificates of a CA file.
func loadPool(ctx context.Context, file string) (*x509.CertPool, error) {
	data, err := safefile.ReadFile(ctx, file, maxPEMFile)
	if err != nil {
		return nil, err
	}
	pool := x509.NewCertPool()
	if !pool.AppendCertsFromPEM(data) {
		return nil, fmt.Errorf("%s holds no PEM certificate", file)
	}
	return pool, nil
}

// identity returns the client identity of a verified TLS connection: the subject
// common name of its certificate, or its first DNS name when the CN is empty.
func identity(cs *tls.ConnectionState) (string, error) {
	if cs == nil || len(cs.PeerCertificates) == 0 {
		return "", errors.New("a client certificate is required")
	}
	if len(cs.VerifiedChains) == 0 {
		return "", errors.New("the client certificate was not verified")
	}
	leaf := cs.PeerCertificates[0]
	switch {
	case leaf.Subject.CommonName != "":
		return leaf.Subject.CommonName, nil
	case len(leaf.DNSNames) > 0:
		return leaf.DNSNames[0], nil
	}
	return "", errors.New("the client certificate names no identity (no CN, no DNS name)")
}
