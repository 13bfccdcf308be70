// Command portloser is a stand-in service for the stack's tests: the first
// time it runs (no file at $MARK) it exits as a service does whose port was
// taken; after that it serves /readyz on $HTTP_ADDR.
package main

import (
	"fmt"
	"net/http"
	"os"
)

func main() {
	if _, err := os.Stat(os.Getenv("MARK")); err != nil {
		_ = os.WriteFile(os.Getenv("MARK"), nil, 0o644)
		fmt.Println(`{"level":"ERROR","msg":"listen tcp ` + os.Getenv("HTTP_ADDR") + `: bind: address already in use"}`)
		os.Exit(1)
	}
	http.HandleFunc("/readyz", func(w http.ResponseWriter, _ *http.Request) {})
	_ = http.ListenAndServe(os.Getenv("HTTP_ADDR"), nil)
}
