// hello: the Go example that slim's integration tests build for every runtime.
package main

import "fmt"

func main() {
	fmt.Println("Hello, world!")
}
