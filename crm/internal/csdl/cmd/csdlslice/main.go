// Command csdlslice cuts the slice of a Dataverse $metadata document that crmbot
// uses (see crm/sandbox/schema) out of the full reference document.
//
//	go run ./crm/internal/csdl/cmd/csdlslice -in ../shared/reference/dataverse-metadata.xml -out crm/sandbox/schema/metadata.xml
package main

import (
	"bytes"
	"flag"
	"log"
	"os"

	"github.com/crmbot/crmbot/crm/internal/csdl"
)

func main() {
	in := flag.String("in", "../shared/reference/dataverse-metadata.xml", "full $metadata document")
	out := flag.String("out", "crm/sandbox/schema/metadata.xml", "where to write the slice")
	flag.Parse()
	f, err := os.Open(*in)
	if err != nil {
		log.Fatal(err)
	}
	defer f.Close()
	doc, err := csdl.Parse(f)
	if err != nil {
		log.Fatal(err)
	}
	var buf bytes.Buffer
	if err := csdl.WriteSlice(&buf, doc); err != nil {
		log.Fatal(err)
	}
	if err := os.WriteFile(*out, buf.Bytes(), 0o644); err != nil {
		log.Fatal(err)
	}
}
