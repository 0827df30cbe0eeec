// Package llm runs callscope's language stages (translation, entities,
// classification, summary, QA scoring, to-dos and tenant analyzers) on any
// server that speaks OpenAI's /v1/chat/completions with JSON-schema structured
// output: OpenAI itself, vLLM, Ollama (self-hosted v0.5.0 or later),
// llama.cpp's llama-server, LocalAI, and speaches' chat routes (not yet
// tried). Every request uses the nested response_format
// {"type":"json_schema","json_schema":{"name", "schema","strict"}} because
// llama.cpp silently ignores the flat {"type":"json_schema","schema"} form; it
// always sends the temperature (default 0) because Ollama's /v1 otherwise
// samples at 1.0; and since Ollama ignores name and strict, llama.cpp falls
// back to unconstrained output when a grammar fails to parse, and Ollama Cloud
// does not enforce schemas at all, every answer is validated here against its
// schema (and against the transcript: entity offsets, segment ids, rubric
// items) before it is used. An invalid answer is asked for once more, then
// fails permanently; rate limits, server errors, connection errors and
// timeouts come back as pipeline.RetryableError so the durable job, not the
// HTTP client, decides when to try again. Package llmtest holds a fake server
// for tests.
package llm
