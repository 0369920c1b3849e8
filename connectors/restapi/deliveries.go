package restapi

import (
	"encoding/json"
	"errors"
	"io"
	"net/http"

	"sigs.k8s.io/yaml"

	"github.com/kdaproject/kda/connectors/delivery"
	"github.com/kdaproject/kda/engine/store"
)

// The delivery stream routes (the kda delivery CLI uses them):
//
//	GET    /v1/deliveries                 → [Description, …]
//	POST   /v1/deliveries                 Definition (Firehose's CreateDeliveryStream JSON, or YAML) → Description, 201
//	GET    /v1/deliveries/{name}          → Description (with metrics)
//	PUT    /v1/deliveries/{name}[?version=N]  Definition → Description (the destination replaced; version, if given, must be current)
//	DELETE /v1/deliveries/{name}          → 204
//	POST   /v1/deliveries/{name}/records  {"records":[{"data":"text"|"dataBase64":"…","partitionKey":"k"}]} → {"recordIds":[…]}
//
// Every Description these routes answer is Redacted: secrets of the sink
// configuration show as delivery.Mask. A PUT that sends the mask back (or
// leaves a secret field out) keeps the stored secret.

// deliveries answers 404 itself when the server runs no delivery streams.
func (s *server) deliveries(w http.ResponseWriter) (*delivery.Manager, bool) {
	if s.deps.Deliveries == nil {
		writeError(w, http.StatusNotFound, CodeNotFound, "this server runs no delivery streams")
		return nil, false
	}
	return s.deps.Deliveries, true
}

func (s *server) listDeliveries(w http.ResponseWriter, _ *http.Request) {
	m, ok := s.deliveries(w)
	if !ok {
		return
	}
	out := []delivery.Description{}
	for _, name := range m.List() {
		if d, err := m.Describe(name); err == nil {
			out = append(out, d.Redacted())
		}
	}
	writeJSON(w, http.StatusOK, out)
}

func (s *server) createDelivery(w http.ResponseWriter, r *http.Request) {
	m, ok := s.deliveries(w)
	if !ok {
		return
	}
	def, ok := readDeliveryDefinition(w, r)
	if !ok {
		return
	}
	d, err := m.Create(def)
	if err != nil {
		writeDeliveryError(w, err)
		return
	}
	writeJSON(w, http.StatusCreated, d.Redacted())
}

// replaceDelivery gives a delivery stream a new destination; what it had
// buffered goes to the new one.
func (s *server) replaceDelivery(w http.ResponseWriter, r *http.Request) {
	m, ok := s.deliveries(w)
	if !ok {
		return
	}
	def, ok := readDeliveryDefinition(w, r)
	if !ok {
		return
	}
	name := r.PathValue("name")
	if def.DeliveryStreamName != "" && def.DeliveryStreamName != name {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, "DeliveryStreamName: the definition names "+def.DeliveryStreamName+", the path "+name)
		return
	}
	def.DeliveryStreamName = name
	d, err := m.Replace(def, r.URL.Query().Get("version"))
	if err != nil {
		writeDeliveryError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d.Redacted())
}

// readDeliveryDefinition reads a definition in JSON or YAML, answering
// the error itself.
func readDeliveryDefinition(w http.ResponseWriter, r *http.Request) (delivery.Definition, bool) {
	var def delivery.Definition
	body, err := io.ReadAll(io.LimitReader(r.Body, maxDefinitionBytes+1))
	if err != nil {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, "read body: "+err.Error())
		return def, false
	}
	if len(body) > maxDefinitionBytes {
		writeError(w, http.StatusRequestEntityTooLarge, store.CodeInvalidArgument, "the definition is larger than 4 MiB")
		return def, false
	}
	// YAML is a superset of JSON: both arrive here.
	js, err := yaml.YAMLToJSON(body)
	if err != nil {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, "definition: "+err.Error())
		return def, false
	}
	if err := json.Unmarshal(js, &def); err != nil {
		writeError(w, http.StatusBadRequest, store.CodeInvalidArgument, "definition: "+err.Error())
		return def, false
	}
	return def, true
}

func (s *server) describeDelivery(w http.ResponseWriter, r *http.Request) {
	m, ok := s.deliveries(w)
	if !ok {
		return
	}
	d, err := m.Describe(r.PathValue("name"))
	if err != nil {
		writeDeliveryError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, d.Redacted())
}

func (s *server) deleteDelivery(w http.ResponseWriter, r *http.Request) {
	m, ok := s.deliveries(w)
	if !ok {
		return
	}
	if err := m.Delete(r.PathValue("name")); err != nil {
		writeDeliveryError(w, err)
		return
	}
	w.WriteHeader(http.StatusNoContent)
}

// putDeliveryRecords takes records as the stream records route does: data
// as text or dataBase64, and a partitionKey that orders them (optional).
func (s *server) putDeliveryRecords(w http.ResponseWriter, r *http.Request) {
	m, ok := s.deliveries(w)
	if !ok {
		return
	}
	var in putRecordsRequest
	if !decodeBody(w, r, &in, `{"records":[{"data":"text"},{"partitionKey":"k","dataBase64":"AAE="}]}`) {
		return
	}
	recs := make([]delivery.PutInput, len(in.Records))
	for i, rec := range in.Records {
		data, ok := recordData(w, i, rec)
		if !ok {
			return
		}
		recs[i] = delivery.PutInput{Data: data, PartitionKey: rec.PartitionKey}
	}
	ids, err := m.Put(r.PathValue("name"), recs)
	if err != nil {
		writeDeliveryError(w, err)
		return
	}
	writeJSON(w, http.StatusOK, map[string]any{"recordIds": ids})
}

func writeDeliveryError(w http.ResponseWriter, err error) {
	var de *delivery.Error
	if !errors.As(err, &de) {
		writeError(w, http.StatusInternalServerError, CodeInternal, delivery.RedactString(err.Error()))
		return
	}
	status := http.StatusBadRequest
	switch de.Code {
	case delivery.CodeResourceNotFound:
		status = http.StatusNotFound
	case delivery.CodeResourceInUse, delivery.CodeConcurrentModification:
		status = http.StatusConflict
	case delivery.CodeServiceUnavailable:
		status = http.StatusServiceUnavailable
	}
	// A connector's error may quote the URL or DSN it was given.
	writeError(w, status, de.Code, delivery.RedactString(de.Message))
}
