// Command respond responds to a leaked Alibaba Cloud AccessKey: it finds the RAM user that owns
// the key, creates a replacement, stores it where the application reads it, deletes the leaked key
// and verifies, with a plan before and an audit trail after.
package main

import "os"

func main() {
	os.Exit(Main(os.Args[1:], StdStreams()))
}
