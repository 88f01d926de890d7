package triage

import (
	"slices"
	"testing"
)

func TestEtypeFamily(t *testing.T) {
	for name, want := range map[string]string{
		"aes256-cts-hmac-sha1-96": "aes", "aes128-cts-hmac-sha1-96": "aes", "AES256-CTS-HMAC-SHA1-96": "aes",
		"rc4-hmac": "rc4", "arcfour-hmac": "rc4", "arcfour-hmac-md5": "rc4", "rc4-hmac-exp": "rc4",
		"des-cbc-crc": "des", "des-cbc-md5": "des", "des3-cbc-sha1": "", "camellia256-cts-cmac": "", "etype 99": "", "": "",
	} {
		if got := EtypeFamily(name); got != want {
			t.Errorf("EtypeFamily(%q) = %q; want %q", name, got, want)
		}
	}
	for id, want := range map[int]string{17: "aes", 18: "aes", 19: "aes", 20: "aes", 23: "rc4", 24: "rc4", 1: "des", 3: "des"} {
		if got := EtypeFamily(EtypeName(id)); got != want {
			t.Errorf("EtypeFamily(EtypeName(%d)) = %q; want %q", id, got, want)
		}
	}
}

func TestMsdsEtypes(t *testing.T) {
	for _, tt := range []struct {
		v    int
		want []string
	}{
		{EncTypesUnset, nil},
		{0, nil},
		{0x4, []string{"rc4-hmac"}},
		{0x18, []string{"aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96"}},
		{0x1c, []string{"aes256-cts-hmac-sha1-96", "aes128-cts-hmac-sha1-96", "rc4-hmac"}},
		{0x27, []string{"rc4-hmac", "des-cbc-md5", "des-cbc-crc"}}, // 0x20 (AES256-SK) is about session keys
		{0x20, nil},
	} {
		if got := MsdsEtypes(tt.v); !slices.Equal(got, tt.want) {
			t.Errorf("MsdsEtypes(0x%x) = %q; want %q", tt.v, got, tt.want)
		}
	}
	if !EncTypesDefault(EncTypesUnset) || !EncTypesDefault(0) || EncTypesDefault(0x18) {
		t.Error("EncTypesDefault: absent and 0 leave the choice to the domain controllers, 0x18 does not")
	}
}
