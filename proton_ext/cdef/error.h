/* Error codes and pn_error_t, the carrier of the C engine's error text. */
#define PN_EOS -1
#define PN_ERR -2
#define PN_OVERFLOW -3
#define PN_UNDERFLOW -4
#define PN_STATE_ERR -5
#define PN_ARG_ERR -6
#define PN_TIMEOUT -7
#define PN_INTR -8
#define PN_INPROGRESS -9
#define PN_OUT_OF_MEMORY -10
#define PN_ABORTED -11

const char *pn_code(int code);
pn_error_t *pn_error(void);
void pn_error_free(pn_error_t *error);
void pn_error_clear(pn_error_t *error);
int pn_error_set(pn_error_t *error, int code, const char *text);
int pn_error_code(pn_error_t *error);
const char *pn_error_text(pn_error_t *error);
