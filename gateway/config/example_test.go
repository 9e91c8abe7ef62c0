package config_test

import (
	"fmt"

	_ "github.com/davgate/davgate/adapters/memory"
	"github.com/davgate/davgate/gateway/config"
)

func ExampleParse() {
	cfg, err := config.Parse("davgate.yaml", []byte(`
users:
  - name: demo
    password_hash: "$2a$10$xgN0t7P4kcObTHLWSH8jr.e7MGTORrflyxy5MTSAp/k4CaDA2doj6"
    sources:
      - name: personal
        type: memory
        options:
          collections:
            - {id: calendar, kind: calendar, name: Personal, colour: "#388E3C"}
`))
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(cfg.Validate())
	// Output:
	// davgate.yaml:8: users[0].sources[0].options: source "personal" of user "demo": line 10: field colour not found in type memory.CollectionOptions
}
