// grafana_templates: expands alert annotation templates the way Grafana does, to show that each
// one parses and runs there. No Grafana binary is packaged; this reproduces what Grafana's
// alert state manager does with an annotation (grafana/grafana
// pkg/services/ngalert/state/template/template.go, Expand):
//
//   - the text is prefixed with {{- $labels := .Labels -}}{{- $values := .Values -}}{{- $value := .Value -}}
//     and expanded by Prometheus' template expander with the option missingkey=invalid;
//   - the functions are Prometheus' template functions and Grafana's additions (funcs.go), except
//     query, which Grafana replaces by a no-op: here it is left undefined, so a template that still
//     calls it does not parse (it must have been translated away);
//   - .Values maps refIds to {Labels, Value}; .Value is the "value string" (a string).
//
// Input (stdin): a JSON list of {"name", "template", "labels": {name: value}}. Each template is
// expanded with those labels and with $values holding the refIds of the generated rules (query,
// prometheus_math, threshold). A template fails if it does not parse, fails to run, or prints
// "<no value>" (a missing key: Grafana shows "[no value]"). With -v, prints each expansion.
//
// Build and run (stdlib only): GO111MODULE=off go run grafana_templates.go [-v] < templates.json
package main

import (
	"encoding/json"
	"flag"
	"fmt"
	"math"
	"net/url"
	"os"
	"regexp"
	"sort"
	"strconv"
	"strings"
	"text/template"
	"time"
)

type labels map[string]string

func (l labels) String() string {
	keys := make([]string, 0, len(l))
	for k := range l {
		keys = append(keys, k)
	}
	sort.Strings(keys)
	parts := make([]string, 0, len(keys))
	for _, k := range keys {
		parts = append(parts, k+"="+l[k])
	}
	return strings.Join(parts, ", ")
}

type value struct {
	Labels labels
	Value  float64
}

func (v value) String() string { return strconv.FormatFloat(v.Value, 'f', -1, 64) }

type data struct {
	Labels labels
	Values map[string]value
	Value  string
}

// sample and its functions stand in for Prometheus' query results (first, label, ...): with
// query gone, nothing produces one, but a template may still name them.
type sample struct {
	Labels map[string]string
	Value  float64
}

func toFloat(i interface{}) (float64, error) {
	switch v := i.(type) {
	case float64:
		return v, nil
	case string:
		return strconv.ParseFloat(v, 64)
	case int:
		return float64(v), nil
	case uint:
		return float64(v), nil
	case int64:
		return float64(v), nil
	case uint64:
		return float64(v), nil
	case time.Duration:
		return v.Seconds(), nil
	default:
		return 0, fmt.Errorf("can't convert %T to float", v)
	}
}

func numeric(format func(float64) string) func(interface{}) (string, error) {
	return func(i interface{}) (string, error) {
		v, err := toFloat(i)
		if err != nil {
			return "", err
		}
		return format(v), nil
	}
}

func humanizeDuration(v float64) string {
	if math.IsNaN(v) || math.IsInf(v, 0) {
		return fmt.Sprintf("%.4g", v)
	}
	d := time.Duration(v * float64(time.Second))
	return d.Round(time.Second).String()
}

func funcs() template.FuncMap {
	stub := func(args ...interface{}) string { return "" }
	return template.FuncMap{
		// Prometheus template/template.go (query left out: see the header).
		"first": func(v []*sample) (*sample, error) {
			if len(v) > 0 {
				return v[0], nil
			}
			return nil, fmt.Errorf("first() called on vector with no elements")
		},
		"label":              func(l string, s *sample) string { return s.Labels[l] },
		"value":              func(s *sample) float64 { return s.Value },
		"strvalue":           func(s *sample) string { return s.Labels["__value__"] },
		"sortByLabel":        func(l string, v []*sample) []*sample { return v },
		"args":               func(a ...interface{}) map[string]interface{} { return map[string]interface{}{} },
		"reReplaceAll":       func(p, r, t string) string { return regexp.MustCompile(p).ReplaceAllString(t, r) },
		"safeHtml":           func(t string) string { return t },
		"match":              regexp.MatchString,
		"title":              strings.Title,
		"toUpper":            strings.ToUpper,
		"toLower":            strings.ToLower,
		"humanize":           numeric(func(v float64) string { return fmt.Sprintf("%.4g", v) }),
		"humanize1024":       numeric(func(v float64) string { return fmt.Sprintf("%.4g", v) }),
		"humanizeDuration":   numeric(humanizeDuration),
		"humanizePercentage": numeric(func(v float64) string { return fmt.Sprintf("%.4g%%", v*100) }),
		"humanizeTimestamp":  numeric(func(v float64) string { return time.Unix(int64(v), 0).UTC().String() }),
		"toTime":             func(i interface{}) (time.Time, error) { v, err := toFloat(i); return time.Unix(int64(v), 0), err },
		"toDuration":         func(i interface{}) (time.Duration, error) { v, err := toFloat(i); return time.Duration(v * 1e9), err },
		"now":                func() float64 { return float64(time.Now().Unix()) },
		"pathPrefix":         func() string { return "" },
		"externalURL":        func() string { return "http://grafana.example" },
		"parseDuration":      func(d string) (float64, error) { v, err := time.ParseDuration(d); return v.Seconds(), err },
		"stripPort":          func(h string) string { return h },
		"stripDomain":        func(h string) string { return h },
		"urlQueryEscape":     url.QueryEscape,
		// Grafana pkg/services/ngalert/state/template/funcs.go.
		"graphLink":        stub,
		"tableLink":        stub,
		"filterLabels":     func(m labels, s string) labels { return m },
		"filterLabelsRe":   func(m labels, s string) labels { return m },
		"removeLabels":     func(m labels, s string) labels { return m },
		"removeLabelsRe":   func(m labels, s string) labels { return m },
		"mergeLabelValues": func(v map[string]value) labels { return labels{} },
	}
}

type input struct {
	Name     string            `json:"name"`
	Template string            `json:"template"`
	Labels   map[string]string `json:"labels"`
}

func expand(in input) (string, error) {
	text := "{{- $labels := .Labels -}}{{- $values := .Values -}}{{- $value := .Value -}}" + in.Template
	t, err := template.New("__alert_" + in.Name).Funcs(funcs()).Option("missingkey=invalid").Parse(text)
	if err != nil {
		return "", err
	}
	d := data{
		Labels: in.Labels,
		Values: map[string]value{
			"query":           {Labels: in.Labels, Value: 1234.5},
			"prometheus_math": {Labels: in.Labels, Value: 1},
			"threshold":       {Labels: in.Labels, Value: 1},
		},
		Value: "[ var='query' labels={} value=1234.5 ]",
	}
	var b strings.Builder
	if err := t.Execute(&b, d); err != nil {
		return "", err
	}
	if strings.Contains(b.String(), "<no value>") {
		return b.String(), fmt.Errorf("prints <no value> (a missing key): %s", b.String())
	}
	return b.String(), nil
}

func main() {
	verbose := flag.Bool("v", false, "print each expansion")
	flag.Parse()
	var inputs []input
	if err := json.NewDecoder(os.Stdin).Decode(&inputs); err != nil {
		fmt.Fprintln(os.Stderr, "grafana_templates: reading stdin:", err)
		os.Exit(2)
	}
	failed := 0
	for _, in := range inputs {
		out, err := expand(in)
		if err != nil {
			failed++
			fmt.Printf("FAIL %s: %v\n", in.Name, err)
		} else if *verbose {
			fmt.Printf("ok %s: %s\n", in.Name, out)
		}
	}
	fmt.Printf("grafana_templates: %d templates, %d failed\n", len(inputs), failed)
	if failed > 0 {
		os.Exit(1)
	}
}
