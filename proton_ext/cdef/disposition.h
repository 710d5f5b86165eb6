/* Delivery states (outcomes) and their details. */
#define PN_RECEIVED 35
#define PN_ACCEPTED 36
#define PN_REJECTED 37
#define PN_RELEASED 38
#define PN_MODIFIED 39

uint64_t pn_disposition_type(pn_disposition_t *disposition);
const char *pn_disposition_type_name(uint64_t disposition_type);
pn_condition_t *pn_disposition_condition(pn_disposition_t *disposition);
pn_data_t *pn_disposition_data(pn_disposition_t *disposition);
uint32_t pn_disposition_get_section_number(pn_disposition_t *disposition);
void pn_disposition_set_section_number(pn_disposition_t *disposition, uint32_t section_number);
uint64_t pn_disposition_get_section_offset(pn_disposition_t *disposition);
void pn_disposition_set_section_offset(pn_disposition_t *disposition, uint64_t section_offset);
bool pn_disposition_is_failed(pn_disposition_t *disposition);
void pn_disposition_set_failed(pn_disposition_t *disposition, bool failed);
bool pn_disposition_is_undeliverable(pn_disposition_t *disposition);
void pn_disposition_set_undeliverable(pn_disposition_t *disposition, bool undeliverable);
pn_data_t *pn_disposition_annotations(pn_disposition_t *disposition);
