package config_test

import (
	"fmt"

	"github.com/authtriage/authtriage/config"
)

func ExampleParse() {
	src := `
defaults:
  since: 7d
hots: []
hosts:
  - name: sqlhost01
    fqdn: sql..corp
  - name: sql01)(cn=*
    service_account: ${SQL_ACCOUNT}
    instances: [":1433", "SALES:0"]
`
	getenv := func(string) string { return "" }
	_, err := config.Parse([]byte(src), "authtriage.yaml", getenv, nil)
	fmt.Println(err)
	// Output:
	// authtriage.yaml:4: hots: unknown key, did you mean "hosts"?
	// authtriage.yaml:7: hosts[0].fqdn: "sql..corp" is not a valid host name: host name "sql..corp" has an empty label
	// authtriage.yaml:8: hosts[1].name: "sql01)(cn=*" is not a valid host name: host name "sql01)(cn=*": ')' is not allowed in a host name
	// authtriage.yaml:9: hosts[1].service_account: environment variable SQL_ACCOUNT is not set or is empty
	// authtriage.yaml:10: hosts[1].instances[1]: port "0" is not a number from 1 to 65535
}

func ExampleConfig_Suggest() {
	cfg, err := config.Parse([]byte("hosts: [{name: sqlhost01}, {name: sqlhost02}, {name: reports}]"), "a.yaml", nil, nil)
	if err != nil {
		panic(err)
	}
	if _, ok := cfg.Host("sqlhost1"); !ok {
		fmt.Println("did you mean", cfg.Suggest("sqlhost1"))
	}
	// Output: did you mean [sqlhost01 sqlhost02]
}
