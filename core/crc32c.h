/*
 * chorus_crc32c: CRC-32C (Castagnoli polynomial 0x1EDC6F41, reflected
 * 0x82F63B78; initial value and final XOR 0xFFFFFFFF), the checksum of the
 * write-ahead log's records (core/walrec.h). Chosen over CRC-32 (IEEE) for
 * its better Hamming distance at record sizes and because iSCSI, ext4 and
 * SCTP use it, so RFC 3720 B.4 gives test vectors.
 *
 * Pure: one constant table, no state between calls.
 */
#ifndef CHORUS_CRC32C_H
#define CHORUS_CRC32C_H

#include <stddef.h>
#include <stdint.h>

/*
 * chorus_crc32c_extend continues a checksum: crc is 0 for the first bytes,
 * or the value a previous call returned, so checksumming a split buffer
 * gives the same result as checksumming it whole. p may be NULL only when
 * n_bytes is 0. Returns the CRC-32C of everything fed so far.
 */
uint32_t chorus_crc32c_extend(uint32_t crc, const uint8_t *p, size_t n_bytes);

/* chorus_crc32c returns the CRC-32C of p[0..n_bytes). */
uint32_t chorus_crc32c(const uint8_t *p, size_t n_bytes);

#endif
