package providers

// Schemas name the few values the gateway needs from each kind of document;
// the scanner records exactly those and skips the rest. Each is built once.

// object returns a node for an object value with the given children.
func object(id slotID, fields ...field) *node {
	return &node{slot: id, fields: fields}
}

// array returns a node for an array value whose elements match elem.
func array(id slotID, elem *node) *node {
	return &node{slot: id, elem: elem}
}

// leaf returns a node for a scalar value.
func leaf(a action, id slotID) *node {
	return &node{action: a, slot: id}
}

// key pairs an object key with its node.
func key(name string, n *node) field {
	return field{name: name, node: n}
}

// compile fills in each node's reset list and checks that the schema fits
// in the scanner's tracked depth (the root object is depth 1); it returns
// root.
func compile(root *node) *node {
	var walk func(n *node, depth int) []slotID
	walk = func(n *node, depth int) []slotID {
		// A container at depth d is remembered in scanner.nodes[d].
		if depth >= maxTracked && (n.fields != nil || n.elem != nil) {
			panic("providers: schema deeper than maxTracked")
		}
		var below []slotID
		for _, f := range n.fields {
			below = append(below, walk(f.node, depth+1)...)
		}
		if n.elem != nil {
			below = append(below, walk(n.elem, depth+1)...)
		}
		n.resets = below
		if n.slot != slotNone && n.action != actCount {
			return append(below, n.slot)
		}
		return below
	}
	walk(root, 1)
	return root
}

// countText is a node adding a string's decoded length to the text count.
func countText() *node { return leaf(actCount, slotText) }

// integer is a node parsing a token count into id.
func integer(id slotID) *node { return leaf(actInt, id) }

// modelKey captures a "model" string.
func modelKey() field { return key("model", leaf(actCapture, slotModel)) }

// finishReason hands every string under name (a choice's finish_reason, a
// message's stop_reason) to the observer; null is skipped.
func finishReason(name string) field { return key(name, leaf(actCollect, slotReason)) }

// responseStatus captures a Responses API response's status and the reason
// an incomplete one gives; the observer turns them into a finish reason.
func responseStatus() []field {
	return []field{
		key("status", leaf(actCapture, slotStatus)),
		key("incomplete_details", object(slotNone, key("reason", leaf(actCapture, slotIncompleteReason)))),
	}
}

// chatUsage is the usage object of chat completions, legacy completions
// and embeddings. cache_write_tokens is where models that bill cache
// writes (GPT-6) report them; like cached_tokens it is part of the input.
func chatUsage() field {
	return key("usage", object(slotUsage,
		key("prompt_tokens", integer(slotInput)),
		key("completion_tokens", integer(slotOutput)),
		key("prompt_tokens_details", object(slotNone,
			key("cached_tokens", integer(slotCached)),
			key("cache_write_tokens", integer(slotCacheWrite)),
		)),
		key("completion_tokens_details", object(slotNone, key("reasoning_tokens", integer(slotReasoning)))),
	))
}

// responsesUsage is the usage object of the Responses API.
func responsesUsage() field {
	return key("usage", object(slotUsage,
		key("input_tokens", integer(slotInput)),
		key("output_tokens", integer(slotOutput)),
		key("input_tokens_details", object(slotNone,
			key("cached_tokens", integer(slotCached)),
			key("cache_write_tokens", integer(slotCacheWrite)),
		)),
		key("output_tokens_details", object(slotNone, key("reasoning_tokens", integer(slotReasoning)))),
	))
}

// anthropicUsage is the usage object of the Messages API, with the split
// of cache writes by lifetime and the conditions that change the price
// (service tier, fast mode, US-only inference).
func anthropicUsage() field {
	return key("usage", object(slotUsage,
		key("input_tokens", integer(slotInput)),
		key("output_tokens", integer(slotOutput)),
		key("cache_read_input_tokens", integer(slotCached)),
		key("cache_creation_input_tokens", integer(slotCacheWrite)),
		key("cache_creation", object(slotNone,
			key("ephemeral_1h_input_tokens", integer(slotCacheWrite1h)),
		)),
		key("service_tier", leaf(actCapture, slotServiceTier)),
		key("speed", leaf(actCapture, slotSpeed)),
		key("inference_geo", leaf(actCapture, slotInferenceGeo)),
	))
}

// serviceTier captures the service_tier an OpenAI response reports: the
// tier that served it, which a priority request can come back without.
func serviceTier() field { return key("service_tier", leaf(actCapture, slotServiceTier)) }

// toolCalls counts generated function arguments in a chat message or delta.
func toolCalls() field {
	return key("tool_calls", array(slotNone, object(slotNone,
		key("function", object(slotNone, key("arguments", countText()))),
	)))
}

var (
	// requestSchema reads what PrepareRequest needs from any request body.
	requestSchema = compile(object(slotNone,
		modelKey(),
		key("stream", leaf(actRecord, slotStream)),
		key("stream_options", object(slotStreamOptions,
			key("include_usage", leaf(actRecord, slotIncludeUsage)),
		)),
		// The output cap, whatever the dialect calls it: limits reserve
		// it as the call's worst case.
		key("max_tokens", integer(slotMaxOutput)),
		key("max_output_tokens", integer(slotMaxOutput)),
		key("max_completion_tokens", integer(slotMaxOutput)),
	))

	// modelOnlySchema serves endpoints whose usage the gateway does not
	// account for.
	modelOnlySchema = compile(object(slotNone, modelKey()))

	// chatBodySchema reads a chat completion, legacy completion or
	// embeddings response.
	chatBodySchema = compile(object(slotNone,
		modelKey(),
		serviceTier(),
		chatUsage(),
		key("choices", array(slotNone, object(slotNone,
			key("message", object(slotNone,
				key("content", countText()),
				key("reasoning_content", countText()),
				key("refusal", countText()),
				toolCalls(),
			)),
			key("text", countText()),
			finishReason("finish_reason"),
		))),
	))

	// chatChunkSchema reads one chat completion (or legacy completion)
	// stream chunk.
	chatChunkSchema = compile(object(slotNone,
		modelKey(),
		serviceTier(),
		chatUsage(),
		key("choices", array(slotChoices, object(slotNone,
			key("delta", object(slotNone,
				key("content", countText()),
				key("reasoning_content", countText()),
				key("reasoning", countText()),
				key("refusal", countText()),
				toolCalls(),
			)),
			key("text", countText()),
			finishReason("finish_reason"),
		))),
	))

	// responsesBodySchema reads a Responses API response object.
	responsesBodySchema = compile(object(slotNone, append(responseStatus(),
		modelKey(),
		serviceTier(),
		responsesUsage(),
		key("output", array(slotNone, object(slotNone,
			key("content", array(slotNone, object(slotNone, key("text", countText())))),
			key("summary", array(slotNone, object(slotNone, key("text", countText())))),
			key("arguments", countText()),
		))),
	)...))

	// responsesEventSchema reads one Responses API stream event.
	responsesEventSchema = compile(object(slotNone,
		key("type", leaf(actCapture, slotType)),
		key("delta", leaf(actCount, slotDelta)),
		key("response", object(slotNone, append(responseStatus(), modelKey(), serviceTier(), responsesUsage())...)),
	))

	// anthropicBodySchema reads a Messages API response.
	anthropicBodySchema = compile(object(slotNone,
		modelKey(),
		anthropicUsage(),
		finishReason("stop_reason"),
		key("content", array(slotNone, object(slotNone,
			key("text", countText()),
			key("thinking", countText()),
		))),
	))

	// anthropicEventSchema reads one Messages API stream event: the
	// message of message_start, the delta of content_block_delta and the
	// usage and stop_reason of message_delta. The two usage paths share
	// slots because no event carries both.
	anthropicEventSchema = compile(object(slotNone,
		key("type", leaf(actCapture, slotType)),
		key("message", object(slotNone, modelKey(), anthropicUsage())),
		key("delta", object(slotNone,
			key("text", countText()),
			key("thinking", countText()),
			key("partial_json", countText()),
			finishReason("stop_reason"),
		)),
		anthropicUsage(),
	))
)
