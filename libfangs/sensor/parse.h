/*
 * sensor/parse.h - parsers for the payload prefixes the kernel side copies.
 */
#ifndef FANGS_SENSOR_PARSE_H
#define FANGS_SENSOR_PARSE_H

#include <stddef.h>
#include <stdint.h>

/* The first question of a DNS query message (as sent on UDP, without the TCP
 * length prefix): qname in dotted form (no trailing dot; bytes outside
 * printable ASCII and '.' or '\' inside a label written as \DDD), and qtype.
 * 0 on success, -1 when `msg` is not a well-formed query. */
int fangs__dns_parse_query(const uint8_t *msg, size_t len, char *qname, size_t qname_len, uint16_t *qtype);

/* The same for a DNS message as sent on TCP: a 2-byte length prefix, then
 * the message (only a prefix of it may have been copied: the length may
 * exceed what `len` holds, never fall short of what the question needs). */
int fangs__dns_parse_tcp(const uint8_t *buf, size_t len, char *qname, size_t qname_len, uint16_t *qtype);

/* The host_name of the server_name extension of a TLS record holding a
 * ClientHello. 0 on success, -1 when absent, malformed or beyond `len`. */
int fangs__tls_parse_sni(const uint8_t *rec, size_t len, char *sni, size_t sni_len);

/* fangs__tls_parse_sni() at the start of `buf`, else at the first record
 * further in that holds a ClientHello with a readable name (the kernel side
 * hands over joined writes that may begin with a decoy header). */
int fangs__tls_find_sni(const uint8_t *buf, size_t len, char *sni, size_t sni_len);

#endif
