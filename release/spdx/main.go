// Command spdx writes an SPDX 2.3 JSON software bill of materials for a Go
// binary, from the build information the Go toolchain embeds in it (what
// `go version -m BINARY` prints): the main module, every module linked
// into the binary with its version and go.sum hash, and the Go toolchain.
// It reads nothing else and writes the same document for the same binary,
// version and creation time, so release builds stay reproducible.
//
//	go run ./release/spdx -version v1.2.3 -created 2026-01-02T03:04:05Z dist/ongoingai_linux_amd64
package main

import (
	"crypto/sha256"
	"debug/buildinfo"
	"encoding/hex"
	"encoding/json"
	"flag"
	"fmt"
	"os"
	"path/filepath"
	"regexp"
	"time"
)

type checksum struct {
	Algorithm string `json:"algorithm"`
	Value     string `json:"checksumValue"`
}

type externalRef struct {
	Category string `json:"referenceCategory"`
	Type     string `json:"referenceType"`
	Locator  string `json:"referenceLocator"`
}

type pkg struct {
	Name             string        `json:"name"`
	SPDXID           string        `json:"SPDXID"`
	VersionInfo      string        `json:"versionInfo,omitempty"`
	DownloadLocation string        `json:"downloadLocation"`
	FilesAnalyzed    bool          `json:"filesAnalyzed"`
	LicenseConcluded string        `json:"licenseConcluded"`
	LicenseDeclared  string        `json:"licenseDeclared"`
	CopyrightText    string        `json:"copyrightText"`
	Checksums        []checksum    `json:"checksums,omitempty"`
	ExternalRefs     []externalRef `json:"externalRefs,omitempty"`
	Comment          string        `json:"comment,omitempty"`
}

type relationship struct {
	Element string `json:"spdxElementId"`
	Type    string `json:"relationshipType"`
	Related string `json:"relatedSpdxElement"`
}

type document struct {
	SPDXVersion       string `json:"spdxVersion"`
	DataLicense       string `json:"dataLicense"`
	SPDXID            string `json:"SPDXID"`
	Name              string `json:"name"`
	DocumentNamespace string `json:"documentNamespace"`
	CreationInfo      struct {
		Created  string   `json:"created"`
		Creators []string `json:"creators"`
	} `json:"creationInfo"`
	Packages      []pkg          `json:"packages"`
	Relationships []relationship `json:"relationships"`
}

// idUnsafe are the characters an SPDX identifier may not hold.
var idUnsafe = regexp.MustCompile(`[^A-Za-z0-9.-]`)

func main() {
	version := flag.String("version", "", "the release `VERSION` of the main module")
	created := flag.String("created", "", "the document's creation `TIME` (RFC 3339; the release's SOURCE_DATE_EPOCH)")
	flag.Parse()
	if flag.NArg() != 1 || *version == "" || *created == "" {
		fmt.Fprintln(os.Stderr, "usage: spdx -version VERSION -created TIME BINARY")
		os.Exit(2)
	}
	if _, err := time.Parse(time.RFC3339, *created); err != nil {
		fail(fmt.Errorf("-created: %w", err))
	}
	doc, err := build(flag.Arg(0), *version, *created)
	if err != nil {
		fail(err)
	}
	enc := json.NewEncoder(os.Stdout)
	enc.SetIndent("", "  ")
	if err := enc.Encode(doc); err != nil {
		fail(err)
	}
}

func build(path, version, created string) (document, error) {
	info, err := buildinfo.ReadFile(path)
	if err != nil {
		return document{}, err
	}
	bin, err := os.ReadFile(path)
	if err != nil {
		return document{}, err
	}
	sum := sha256.Sum256(bin)
	name := filepath.Base(path)

	var doc document
	doc.SPDXVersion, doc.DataLicense, doc.SPDXID = "SPDX-2.3", "CC0-1.0", "SPDXRef-DOCUMENT"
	doc.Name = name + "-" + version
	// Unique per binary, and the same for the same binary.
	doc.DocumentNamespace = "https://github.com/ongoingai/gateway/releases/" + version + "/" + name + ".spdx.json#sha256-" + hex.EncodeToString(sum[:])
	doc.CreationInfo.Created = created
	doc.CreationInfo.Creators = []string{"Tool: ongoingai-release-spdx", "Organization: OngoingAI"}

	mainID := "SPDXRef-Package-" + idUnsafe.ReplaceAllString(info.Main.Path, "-")
	doc.Packages = append(doc.Packages, pkg{
		Name: info.Main.Path, SPDXID: mainID, VersionInfo: version,
		DownloadLocation: "https://" + info.Main.Path,
		LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION", CopyrightText: "NOASSERTION",
		Checksums:    []checksum{{"SHA256", hex.EncodeToString(sum[:])}},
		ExternalRefs: []externalRef{purl(info.Main.Path, version)},
		Comment:      "the binary " + name + ", built by " + info.GoVersion,
	})
	doc.Relationships = append(doc.Relationships, relationship{"SPDXRef-DOCUMENT", "DESCRIBES", mainID})

	toolchainID := "SPDXRef-Package-go-toolchain"
	doc.Packages = append(doc.Packages, pkg{
		Name: "go", SPDXID: toolchainID, VersionInfo: info.GoVersion,
		DownloadLocation: "https://go.dev/dl/", LicenseConcluded: "NOASSERTION", LicenseDeclared: "BSD-3-Clause",
		CopyrightText: "NOASSERTION", ExternalRefs: []externalRef{purl("stdlib", info.GoVersion)},
		Comment: "the Go toolchain and standard library linked into the binary",
	})
	doc.Relationships = append(doc.Relationships, relationship{mainID, "DEPENDS_ON", toolchainID})

	for _, m := range info.Deps {
		mod := m
		if m.Replace != nil {
			mod = m.Replace
		}
		id := "SPDXRef-Package-" + idUnsafe.ReplaceAllString(mod.Path+"-"+mod.Version, "-")
		p := pkg{
			Name: mod.Path, SPDXID: id, VersionInfo: mod.Version,
			DownloadLocation: "https://proxy.golang.org/" + mod.Path + "/@v/" + mod.Version + ".zip",
			LicenseConcluded: "NOASSERTION", LicenseDeclared: "NOASSERTION", CopyrightText: "NOASSERTION",
			ExternalRefs: []externalRef{purl(mod.Path, mod.Version)},
		}
		if mod.Sum != "" {
			p.Comment = "go.sum hash " + mod.Sum
		}
		if m.Replace != nil {
			p.Comment += "; replaces " + m.Path + "@" + m.Version
		}
		doc.Packages = append(doc.Packages, p)
		doc.Relationships = append(doc.Relationships, relationship{mainID, "DEPENDS_ON", id})
	}
	return doc, nil
}

func purl(path, version string) externalRef {
	return externalRef{"PACKAGE-MANAGER", "purl", "pkg:golang/" + path + "@" + version}
}

func fail(err error) {
	fmt.Fprintln(os.Stderr, "spdx:", err)
	os.Exit(1)
}
