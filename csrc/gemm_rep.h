/* gemm_rep.h - preprocessor repetition used to give every accumulator of a
 * register tile its own named variable (gcc keeps named vectors in registers
 * more reliably than arrays of vectors). It defines no code of its own.
 *
 * Three families, kept distinct so one can be expanded inside another:
 *   GK_In(X)     X(0) X(1) ... X(n-1)
 *   GK_Jn(Y, p)  Y(p, 0) ... Y(p, n-1)     (p fixed, second index runs)
 *   GK_Kn(Y, p)  Y(0, p) ... Y(n-1, p)     (first index runs, p fixed) */
#ifndef FMLP_GEMM_REP_H
#define FMLP_GEMM_REP_H

#define GK_I1(X) X(0)
#define GK_I2(X) GK_I1(X) X(1)
#define GK_I3(X) GK_I2(X) X(2)
#define GK_I4(X) GK_I3(X) X(3)
#define GK_I5(X) GK_I4(X) X(4)
#define GK_I6(X) GK_I5(X) X(5)
#define GK_I7(X) GK_I6(X) X(6)
#define GK_I8(X) GK_I7(X) X(7)

#define GK_J1(Y, p) Y(p, 0)
#define GK_J2(Y, p) GK_J1(Y, p) Y(p, 1)
#define GK_J3(Y, p) GK_J2(Y, p) Y(p, 2)
#define GK_J4(Y, p) GK_J3(Y, p) Y(p, 3)
#define GK_J5(Y, p) GK_J4(Y, p) Y(p, 4)
#define GK_J6(Y, p) GK_J5(Y, p) Y(p, 5)
#define GK_J7(Y, p) GK_J6(Y, p) Y(p, 6)
#define GK_J8(Y, p) GK_J7(Y, p) Y(p, 7)

#define GK_K1(Y, p) Y(0, p)
#define GK_K2(Y, p) GK_K1(Y, p) Y(1, p)
#define GK_K3(Y, p) GK_K2(Y, p) Y(2, p)
#define GK_K4(Y, p) GK_K3(Y, p) Y(3, p)
#define GK_K5(Y, p) GK_K4(Y, p) Y(4, p)
#define GK_K6(Y, p) GK_K5(Y, p) Y(5, p)
#define GK_K7(Y, p) GK_K6(Y, p) Y(6, p)
#define GK_K8(Y, p) GK_K7(Y, p) Y(7, p)

#endif /* FMLP_GEMM_REP_H */
