/* Redacting log sink: see redact_log.h. */
#include "redact_log.h"

#include <stdio.h>
#include <stdlib.h>
#include <string.h>

#include <proton/logger.h>

/* The engine's own default sink, captured from the first transport we see. */
static pn_log_sink_t original_sink = NULL;

static const char *secret_field(const char *line)
{
    if (!strstr(line, "@sasl-init") && !strstr(line, "@sasl-response")) {
        return NULL;
    }
    const char *field = strstr(line, "initial-response=");
    if (field) {
        return field + strlen("initial-response=");
    }
    field = strstr(line, "response=");
    return field ? field + strlen("response=") : NULL;
}

const char *amqx_redact_line(const char *line, char *out, size_t size)
{
    const char *secret = secret_field(line);
    if (!secret) {
        snprintf(out, size, "%s", line);
    } else {
        snprintf(out, size, "%.*s<redacted>]", (int)(secret - line), line);
    }
    return out;
}

static void redacting_sink(intptr_t context, pn_log_subsystem_t subsystem,
                           pn_log_level_t severity, const char *message)
{
    if (!secret_field(message)) {
        original_sink(context, subsystem, severity, message);
        return;
    }
    size_t size = strlen(message) + sizeof("<redacted>]");
    char *redacted = malloc(size);
    if (!redacted) {
        return; /* never print the secret, even when out of memory */
    }
    original_sink(context, subsystem, severity, amqx_redact_line(message, redacted, size));
    free(redacted);
}

void amqx_redact_log(pn_transport_t *transport)
{
    pn_logger_t *logger = pn_transport_logger(transport);
    pn_log_sink_t sink = pn_logger_get_log_sink(logger);
    if (sink == redacting_sink) {
        return;
    }
    if (original_sink == NULL) {
        original_sink = sink;
    }
    if (sink != original_sink) {
        return;
    }
    pn_logger_set_log_sink(logger, redacting_sink, pn_logger_get_log_sink_context(logger));
}
