/* Scalar types, byte views and opaque handles shared by every topic. */
typedef uint32_t pn_sequence_t;
typedef uint32_t pn_millis_t;
typedef uint32_t pn_seconds_t;
typedef int64_t pn_timestamp_t;
typedef uint32_t pn_char_t;
typedef uint32_t pn_decimal32_t;
typedef uint64_t pn_decimal64_t;
typedef struct { char bytes[16]; } pn_decimal128_t;
typedef struct { char bytes[16]; } pn_uuid_t;
typedef struct pn_bytes_t { size_t size; const char *start; } pn_bytes_t;
typedef struct pn_rwbytes_t { size_t size; char *start; } pn_rwbytes_t;
typedef int pn_state_t;
typedef const void *pn_handle_t;

typedef struct pn_connection_t pn_connection_t;
typedef struct pn_session_t pn_session_t;
typedef struct pn_link_t pn_link_t;
typedef struct pn_delivery_t pn_delivery_t;
typedef struct pn_collector_t pn_collector_t;
typedef struct pn_transport_t pn_transport_t;
typedef struct pn_event_t pn_event_t;
typedef struct pn_condition_t pn_condition_t;
typedef struct pn_disposition_t pn_disposition_t;
typedef struct pn_terminus_t pn_terminus_t;
typedef struct pn_data_t pn_data_t;
typedef struct pn_message_t pn_message_t;
typedef struct pn_error_t pn_error_t;
typedef struct pn_sasl_t pn_sasl_t;
typedef struct pn_ssl_t pn_ssl_t;
typedef struct pn_ssl_domain_t pn_ssl_domain_t;
typedef struct pn_record_t pn_record_t;
typedef struct pn_class_t pn_class_t;
typedef struct pn_logger_t pn_logger_t;

#define PN_LOCAL_UNINIT 1
#define PN_LOCAL_ACTIVE 2
#define PN_LOCAL_CLOSED 4
#define PN_REMOTE_UNINIT 8
#define PN_REMOTE_ACTIVE 16
#define PN_REMOTE_CLOSED 32
#define PN_LOCAL_MASK 7
#define PN_REMOTE_MASK 56

pn_bytes_t pn_bytes(size_t size, const char *start);
