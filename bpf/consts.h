/* SPDX-License-Identifier: GPL-2.0 */
/* Constants of the kernel's uapi headers that vmlinux.h cannot carry,
 * because they are macros there. */
#ifndef SHARENAT_BPF_CONSTS_H
#define SHARENAT_BPF_CONSTS_H

#define ETH_P_IP 0x0800
#define ETH_P_ARP 0x0806
#define ETH_HLEN 14
#define ETH_ALEN 6
#define ARPHRD_ETHER 1
#define ARPOP_REQUEST 1
#define ARPOP_REPLY 2
#define IP_MF 0x2000
#define IP_DF 0x4000
#define IP_OFFSET 0x1fff
#define ICMP_ECHOREPLY 0
#define ICMP_ECHO 8
#define ICMP_DEST_UNREACH 3
#define ICMP_TIME_EXCEEDED 11
#define ICMP_PARAMETERPROB 12
#define ICMP_ERROR_HLEN 8	/* type, code, checksum, 4 bytes of rest */
#define TCP_FLAG_FIN 0x01
#define TCP_FLAG_SYN 0x02
#define TCP_FLAG_RST 0x04
#define TCP_FLAG_ACK 0x10

#define TC_ACT_OK 0
#define TC_ACT_SHOT 2
#define TC_ACT_STOLEN 4
#define TC_ACT_REDIRECT 7
#define AF_INET 2
#define EEXIST 17
#define EBUSY 16

#endif /* SHARENAT_BPF_CONSTS_H */
