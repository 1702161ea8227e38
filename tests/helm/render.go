// render: renders a Helm chart the way `helm template` does, for tests on machines without helm.
//
// It uses Go's text/template with sprig, as Helm does, and implements the Helm pieces the charts
// in this repository use: include, tpl, required, toYaml, fromYaml, toJson/fromJson, lookup
// (always empty, as in `helm template`), .Values (chart defaults, then -f files, null deletes),
// .Release, .Chart, .Capabilities, .Files (Get, Glob, AsConfig, Lines; .helmignore honoured),
// .Template, and dependencies from charts/ or a file:// repository (values coalesced under the
// dependency's name or alias, global values passed down). Output is a multi-document YAML stream
// with `# Source:` comments, or with -o json a JSON object holding every parsed document, the
// NOTES.txt text and each chart's coalesced values with the path of its values.schema.json (the
// caller validates values against it; this program does not).
//
// Build (Debian packages golang-go golang-github-masterminds-sprig-dev golang-gopkg-yaml.v3-dev):
//
//	GO111MODULE=off GOPATH=/usr/share/gocode go build -o render render.go
//
// Usage: render [-f values.yaml]... [-name RELEASE] [-namespace NS] [-o yaml|json] CHART_DIR
//
//	render -yaml2json FILE   prints a YAML file as JSON (run.sh compares rules with it)
package main

import (
	"bytes"
	"encoding/json"
	"errors"
	"flag"
	"fmt"
	"io/fs"
	"os"
	"path"
	"path/filepath"
	"regexp"
	"sort"
	"strings"
	"text/template"

	"github.com/Masterminds/sprig"
	"gopkg.in/yaml.v3"
)

type valueFiles []string

func (v *valueFiles) String() string     { return strings.Join(*v, ",") }
func (v *valueFiles) Set(s string) error { *v = append(*v, s); return nil }

// chart is a loaded chart directory.
type chart struct {
	dir        string                 // on disk
	path       string                 // template path prefix: "top" or "top/charts/sub"
	metadata   map[string]interface{} // Chart.yaml
	defaults   map[string]interface{} // values.yaml
	schemaFile string                 // values.schema.json, or ""
	templates  map[string]string      // "<path>/templates/x.yaml" -> source
	files      files                  // everything else, relative to the chart dir
	deps       []*dependency
}

type dependency struct {
	key   string // values key: alias, else name
	chart *chart
}

// files is .Files: chart files by path relative to the chart directory.
type files map[string][]byte

func (f files) Get(name string) string { return string(f[name]) }

func (f files) GetBytes(name string) []byte { return f[name] }

// Glob matches like Helm's (gobwas/glob with '/' as separator: * does not cross directories).
func (f files) Glob(pattern string) files {
	out := files{}
	for name, data := range f {
		if ok, _ := path.Match(pattern, name); ok {
			out[name] = data
		}
	}
	return out
}

func (f files) AsConfig() string {
	m := map[string]string{}
	for name, data := range f {
		m[path.Base(name)] = string(data)
	}
	s, _ := toYAML(m)
	return s
}

func (f files) Lines(name string) []string {
	s := strings.TrimSuffix(string(f[name]), "\n")
	if s == "" {
		return nil
	}
	return strings.Split(s, "\n")
}

// apiVersions is .Capabilities.APIVersions.
type apiVersions []string

func (a apiVersions) Has(v string) bool {
	for _, x := range a {
		if x == v {
			return true
		}
	}
	return false
}

func readYAMLMap(file string) (map[string]interface{}, error) {
	data, err := os.ReadFile(file)
	if err != nil {
		return nil, err
	}
	m := map[string]interface{}{}
	if err := yaml.Unmarshal(data, &m); err != nil {
		return nil, fmt.Errorf("%s: %w", file, err)
	}
	if m == nil {
		m = map[string]interface{}{}
	}
	return normalize(m).(map[string]interface{}), nil
}

// normalize turns yaml.v3's map[interface{}]interface{} (non-string keys) into string-keyed maps.
func normalize(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		for k, x := range t {
			t[k] = normalize(x)
		}
		return t
	case map[interface{}]interface{}:
		m := map[string]interface{}{}
		for k, x := range t {
			m[fmt.Sprint(k)] = normalize(x)
		}
		return m
	case []interface{}:
		for i, x := range t {
			t[i] = normalize(x)
		}
		return t
	}
	return v
}

// helmignore reads .helmignore: one glob a line, "dir/" for directories, # comments.
func helmignore(dir string) []string {
	data, err := os.ReadFile(filepath.Join(dir, ".helmignore"))
	if err != nil {
		return nil
	}
	var out []string
	for _, line := range strings.Split(string(data), "\n") {
		line = strings.TrimSpace(line)
		if line != "" && !strings.HasPrefix(line, "#") {
			out = append(out, line)
		}
	}
	return out
}

func ignored(patterns []string, rel string, isDir bool) bool {
	for _, p := range patterns {
		if strings.HasSuffix(p, "/") {
			if !isDir {
				continue
			}
			p = strings.TrimSuffix(p, "/")
		}
		if ok, _ := path.Match(p, rel); ok {
			return true
		}
		if ok, _ := path.Match(p, path.Base(rel)); ok && !strings.Contains(p, "/") {
			return true
		}
	}
	return false
}

func loadChart(dir, tplPath string) (*chart, error) {
	c := &chart{dir: dir, templates: map[string]string{}, files: files{}}
	var err error
	if c.metadata, err = readYAMLMap(filepath.Join(dir, "Chart.yaml")); err != nil {
		return nil, err
	}
	name, _ := c.metadata["name"].(string)
	if name == "" {
		return nil, fmt.Errorf("%s: Chart.yaml has no name", dir)
	}
	if tplPath == "" {
		tplPath = name
	}
	c.path = tplPath
	if _, err := os.Stat(filepath.Join(dir, "values.yaml")); err == nil {
		if c.defaults, err = readYAMLMap(filepath.Join(dir, "values.yaml")); err != nil {
			return nil, err
		}
	} else {
		c.defaults = map[string]interface{}{}
	}
	if _, err := os.Stat(filepath.Join(dir, "values.schema.json")); err == nil {
		c.schemaFile = filepath.Join(dir, "values.schema.json")
	}
	ignore := helmignore(dir)
	err = filepath.WalkDir(dir, func(p string, d fs.DirEntry, err error) error {
		if err != nil {
			return err
		}
		rel, _ := filepath.Rel(dir, p)
		rel = filepath.ToSlash(rel)
		if rel == "." {
			return nil
		}
		if ignored(ignore, rel, d.IsDir()) {
			if d.IsDir() {
				return filepath.SkipDir
			}
			return nil
		}
		if d.IsDir() {
			if rel == "charts" {
				return filepath.SkipDir // dependencies are loaded below
			}
			return nil
		}
		data, err := os.ReadFile(p)
		if err != nil {
			return err
		}
		switch {
		case strings.HasPrefix(rel, "templates/"):
			c.templates[c.path+"/"+rel] = string(data)
		case rel == "Chart.yaml" || rel == "values.yaml" || rel == "values.schema.json":
		default:
			c.files[rel] = data
		}
		return nil
	})
	if err != nil {
		return nil, err
	}
	deps, _ := c.metadata["dependencies"].([]interface{})
	for _, d := range deps {
		dm, _ := d.(map[string]interface{})
		depName, _ := dm["name"].(string)
		key := depName
		if alias, _ := dm["alias"].(string); alias != "" {
			key = alias
		}
		depDir := filepath.Join(dir, "charts", depName)
		if _, err := os.Stat(depDir); err != nil {
			repo, _ := dm["repository"].(string)
			if !strings.HasPrefix(repo, "file://") {
				return nil, fmt.Errorf("%s: dependency %s: not in charts/ and repository %q is not file:// (run helm dependency build)", dir, depName, repo)
			}
			depDir = filepath.Join(dir, strings.TrimPrefix(repo, "file://"))
		}
		sub, err := loadChart(depDir, c.path+"/charts/"+key)
		if err != nil {
			return nil, err
		}
		if key != depName {
			sub.metadata["name"] = key // Helm renames an aliased dependency
		}
		c.deps = append(c.deps, &dependency{key: key, chart: sub})
	}
	return c, nil
}

func deepCopy(v interface{}) interface{} {
	switch t := v.(type) {
	case map[string]interface{}:
		m := make(map[string]interface{}, len(t))
		for k, x := range t {
			m[k] = deepCopy(x)
		}
		return m
	case []interface{}:
		l := make([]interface{}, len(t))
		for i, x := range t {
			l[i] = deepCopy(x)
		}
		return l
	}
	return v
}

// merge returns base overridden by over, as Helm coalesces values: maps merge key by key, any
// other value replaces, and a null in over deletes the key.
func merge(base, over map[string]interface{}) map[string]interface{} {
	out := deepCopy(base).(map[string]interface{})
	for k, v := range over {
		if v == nil {
			delete(out, k)
			continue
		}
		if vm, ok := v.(map[string]interface{}); ok {
			if bm, ok := out[k].(map[string]interface{}); ok {
				out[k] = merge(bm, vm)
				continue
			}
		}
		out[k] = deepCopy(v)
	}
	return out
}

// dropNulls removes null values left in chart defaults, as Helm does when it coalesces.
func dropNulls(m map[string]interface{}) map[string]interface{} {
	for k, v := range m {
		switch t := v.(type) {
		case nil:
			delete(m, k)
		case map[string]interface{}:
			dropNulls(t)
		}
	}
	return m
}

// coalesce computes the values of c and of every dependency below it, as Helm does: the
// parent's values under the dependency's key override the dependency's defaults, and the
// coalesced result is visible to the parent under that key too.
func coalesce(c *chart, user map[string]interface{}, parentGlobal map[string]interface{}, out map[*chart]map[string]interface{}) map[string]interface{} {
	vals := dropNulls(merge(c.defaults, user))
	global, _ := vals["global"].(map[string]interface{})
	if global == nil {
		global = map[string]interface{}{}
	}
	if parentGlobal != nil {
		global = merge(global, parentGlobal)
	}
	vals["global"] = global
	for _, d := range c.deps {
		subUser, _ := vals[d.key].(map[string]interface{})
		vals[d.key] = coalesce(d.chart, subUser, global, out)
	}
	out[c] = vals
	return vals
}

func chartObject(meta map[string]interface{}) map[string]interface{} {
	out := map[string]interface{}{}
	for k, v := range meta {
		switch k {
		case "apiVersion":
			out["APIVersion"] = v
		default:
			out[strings.ToUpper(k[:1])+k[1:]] = v
		}
	}
	return out
}

func toYAML(v interface{}) (string, error) {
	var buf bytes.Buffer
	enc := yaml.NewEncoder(&buf)
	enc.SetIndent(2)
	if err := enc.Encode(v); err != nil {
		return "", err
	}
	enc.Close()
	return strings.TrimSuffix(buf.String(), "\n"), nil
}

type renderer struct {
	root      *template.Template
	release   map[string]interface{}
	caps      map[string]interface{}
	values    map[*chart]map[string]interface{}
	contexts  map[string]map[string]interface{} // template path prefix -> context
	includeLv int
}

func (r *renderer) funcs() template.FuncMap {
	f := sprig.TxtFuncMap()
	delete(f, "env") // Helm removes these two
	delete(f, "expandenv")
	f["toYaml"] = func(v interface{}) string {
		s, err := toYAML(v)
		if err != nil {
			return ""
		}
		return s
	}
	f["fromYaml"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := yaml.Unmarshal([]byte(s), &m); err != nil {
			return map[string]interface{}{"Error": err.Error()}
		}
		if m == nil {
			return map[string]interface{}{}
		}
		return normalize(m).(map[string]interface{})
	}
	f["fromYamlArray"] = func(s string) []interface{} {
		var l []interface{}
		if err := yaml.Unmarshal([]byte(s), &l); err != nil {
			return []interface{}{err.Error()}
		}
		return normalize(l).([]interface{})
	}
	f["toJson"] = func(v interface{}) string {
		b, err := json.Marshal(v)
		if err != nil {
			return ""
		}
		return string(b)
	}
	f["fromJson"] = func(s string) map[string]interface{} {
		m := map[string]interface{}{}
		if err := json.Unmarshal([]byte(s), &m); err != nil {
			return map[string]interface{}{"Error": err.Error()}
		}
		return m
	}
	f["required"] = func(msg string, v interface{}) (interface{}, error) {
		if v == nil {
			return v, errors.New(msg)
		}
		if s, ok := v.(string); ok && s == "" {
			return v, errors.New(msg)
		}
		return v, nil
	}
	f["lookup"] = func(apiVersion, kind, namespace, name string) (map[string]interface{}, error) {
		return map[string]interface{}{}, nil
	}
	// Replaced on the parsed template set so that they see every template.
	f["include"] = func(string, interface{}) (string, error) { return "", nil }
	f["tpl"] = func(string, interface{}) (string, error) { return "", nil }
	return f
}

func (r *renderer) include(name string, data interface{}) (string, error) {
	if r.includeLv > 1000 {
		return "", fmt.Errorf("rendering template has a nested reference name: %s", name)
	}
	r.includeLv++
	defer func() { r.includeLv-- }()
	var buf strings.Builder
	if err := r.root.ExecuteTemplate(&buf, name, data); err != nil {
		return "", err
	}
	return buf.String(), nil
}

func (r *renderer) tpl(text string, data interface{}) (string, error) {
	t, err := r.root.Clone()
	if err != nil {
		return "", err
	}
	t.Funcs(template.FuncMap{"include": r.include, "tpl": r.tpl})
	if _, err := t.New("tpl").Parse(text); err != nil {
		return "", fmt.Errorf("tpl: %w", err)
	}
	var buf strings.Builder
	if err := t.ExecuteTemplate(&buf, "tpl", data); err != nil {
		return "", fmt.Errorf("tpl: %w", err)
	}
	return strings.ReplaceAll(buf.String(), "<no value>", ""), nil
}

func (r *renderer) addChart(c *chart, top bool) error {
	for name, src := range c.templates {
		if _, err := r.root.New(name).Parse(src); err != nil {
			return err
		}
	}
	ctx := map[string]interface{}{
		"Values":       r.values[c],
		"Release":      r.release,
		"Chart":        chartObject(c.metadata),
		"Capabilities": r.caps,
		"Files":        c.files,
	}
	subcharts := map[string]interface{}{}
	for _, d := range c.deps {
		if err := r.addChart(d.chart, false); err != nil {
			return err
		}
		subcharts[d.key] = r.contexts[d.chart.path]
	}
	ctx["Subcharts"] = subcharts
	r.contexts[c.path] = ctx
	return nil
}

var docSeparator = regexp.MustCompile(`(?m)^---[ \t]*$`)

type document struct {
	Source string      `json:"source"`
	Text   string      `json:"-"`
	Object interface{} `json:"object"`
}

func main() {
	var vf valueFiles
	flag.Var(&vf, "f", "values file (repeatable; later files win)")
	releaseName := flag.String("name", "release-name", "release name")
	namespace := flag.String("namespace", "default", "release namespace")
	output := flag.String("o", "yaml", "yaml (a multi-document stream) or json")
	kubeVersion := flag.String("kube-version", "v1.30.0", "Capabilities.KubeVersion")
	yaml2json := flag.String("yaml2json", "", "only print this YAML file as JSON (for comparisons)")
	flag.Parse()
	if *yaml2json != "" {
		m, err := readYAMLMap(*yaml2json)
		if err == nil {
			var b []byte
			if b, err = json.Marshal(m); err == nil {
				_, err = os.Stdout.Write(append(b, '\n'))
			}
		}
		if err != nil {
			fmt.Fprintln(os.Stderr, "render:", err)
			os.Exit(1)
		}
		return
	}
	if flag.NArg() != 1 {
		fmt.Fprintln(os.Stderr, "usage: render [-f values.yaml]... [-name RELEASE] [-namespace NS] [-o yaml|json] CHART_DIR")
		os.Exit(2)
	}
	if err := run(flag.Arg(0), vf, *releaseName, *namespace, *output, *kubeVersion); err != nil {
		fmt.Fprintln(os.Stderr, "render:", err)
		os.Exit(1)
	}
}

func run(dir string, vf []string, releaseName, namespace, output, kubeVersion string) error {
	top, err := loadChart(dir, "")
	if err != nil {
		return err
	}
	user := map[string]interface{}{}
	for _, f := range vf {
		m, err := readYAMLMap(f)
		if err != nil {
			return err
		}
		user = merge(user, m)
	}
	r := &renderer{
		release: map[string]interface{}{
			"Name": releaseName, "Namespace": namespace, "Service": "Helm",
			"IsInstall": true, "IsUpgrade": false, "Revision": 1,
		},
		values:   map[*chart]map[string]interface{}{},
		contexts: map[string]map[string]interface{}{},
	}
	kv := strings.TrimPrefix(kubeVersion, "v")
	parts := strings.SplitN(kv, ".", 3)
	for len(parts) < 2 {
		parts = append(parts, "0")
	}
	r.caps = map[string]interface{}{
		"KubeVersion": map[string]interface{}{
			"Version": "v" + kv, "GitVersion": "v" + kv, "Major": parts[0], "Minor": parts[1],
		},
		"APIVersions": apiVersions{
			"v1", "apps/v1", "policy/v1", "networking.k8s.io/v1", "batch/v1",
			"autoscaling/v2", "rbac.authorization.k8s.io/v1",
		},
	}
	coalesce(top, user, nil, r.values)
	r.root = template.New("gotpl").Option("missingkey=zero").Funcs(r.funcs())
	r.root.Funcs(template.FuncMap{"include": r.include, "tpl": r.tpl})
	if err := r.addChart(top, true); err != nil {
		return err
	}

	var names []string
	for _, t := range r.root.Templates() {
		name := t.Name()
		base := path.Base(name)
		if !strings.Contains(name, "/templates/") || strings.HasPrefix(base, "_") {
			continue
		}
		names = append(names, name)
	}
	sort.Strings(names)
	var docs []document
	notes := ""
	for _, name := range names {
		prefix := name[:strings.Index(name, "/templates/")]
		ctx := map[string]interface{}{}
		for k, v := range r.contexts[prefix] {
			ctx[k] = v
		}
		ctx["Template"] = map[string]interface{}{"Name": name, "BasePath": prefix + "/templates"}
		var buf strings.Builder
		if err := r.root.ExecuteTemplate(&buf, name, ctx); err != nil {
			return err
		}
		text := strings.ReplaceAll(buf.String(), "<no value>", "")
		if path.Base(name) == "NOTES.txt" {
			if prefix == top.path {
				notes = text
			}
			continue
		}
		for _, part := range docSeparator.Split(text, -1) {
			if strings.TrimSpace(part) == "" {
				continue
			}
			var obj interface{}
			if err := yaml.Unmarshal([]byte(part), &obj); err != nil {
				return fmt.Errorf("%s: rendered YAML does not parse: %w\n%s", name, err, part)
			}
			if obj == nil {
				continue // only comments
			}
			docs = append(docs, document{Source: name, Text: strings.Trim(part, "\n"), Object: normalize(obj)})
		}
	}

	switch output {
	case "yaml":
		var buf strings.Builder
		for _, d := range docs {
			fmt.Fprintf(&buf, "---\n# Source: %s\n%s\n", d.Source, d.Text)
		}
		_, err = os.Stdout.WriteString(buf.String())
		return err
	case "json":
		type chartValues struct {
			Chart  string                 `json:"chart"`
			Schema string                 `json:"schema,omitempty"`
			Values map[string]interface{} `json:"values"`
		}
		var cv []chartValues
		var walk func(c *chart)
		walk = func(c *chart) {
			cv = append(cv, chartValues{Chart: c.path, Schema: c.schemaFile, Values: r.values[c]})
			for _, d := range c.deps {
				walk(d.chart)
			}
		}
		walk(top)
		b, err := json.MarshalIndent(map[string]interface{}{
			"documents": docs, "notes": notes, "charts": cv,
		}, "", "  ")
		if err != nil {
			return err
		}
		_, err = os.Stdout.Write(append(b, '\n'))
		return err
	}
	return fmt.Errorf("unknown output %q", output)
}
