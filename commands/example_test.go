package commands_test

import (
	"errors"
	"fmt"

	"github.com/authtriage/authtriage/commands"
)

func ExampleParse() {
	c, err := commands.Parse("Check  sqlhost01\\SALES")
	if err != nil {
		fmt.Println(err)
		return
	}
	fmt.Println(c.Verb, c.Host, c.Instance.Name)
	fmt.Println(c)

	_, err = commands.Parse("chek sqlhost01")
	fmt.Println(errors.Is(err, commands.ErrUnknownCommand))
	fmt.Println(err)
	// Output:
	// check sqlhost01 SALES
	// check sqlhost01 SALES
	// true
	// "chek" is not a command; did you mean "check"? The commands are check, incident, history, show, share and help.
}
