import java.io.*;
import java.util.*;
import java.math.BigDecimal;
// Prints the test vectors of src/javaser.rs: TZ=UTC java JavaSerialization.java
public class JavaSerialization {
  static String hex(Object o) throws Exception {
    ByteArrayOutputStream b = new ByteArrayOutputStream();
    try (ObjectOutputStream s = new ObjectOutputStream(b)) { s.writeObject(o); }
    StringBuilder sb = new StringBuilder();
    for (byte x : b.toByteArray()) sb.append(String.format("%02x", x));
    return sb.toString();
  }
  public static void main(String[] a) throws Exception {
    System.out.println("null " + hex((Object[]) null));
    System.out.println("int " + hex(new Object[]{42}));
    System.out.println("long " + hex(new Object[]{-5L}));
    System.out.println("str " + hex(new Object[]{"héllo"}));
    System.out.println("two_int " + hex(new Object[]{1, 2}));
    System.out.println("int_str_long " + hex(new Object[]{7, "a", 9L, "b", 8}));
    System.out.println("uuid " + hex(new Object[]{UUID.fromString("123e4567-e89b-12d3-a456-426614174000")}));
    System.out.println("bool " + hex(new Object[]{true}));
    System.out.println("short " + hex(new Object[]{(short)3}));
    System.out.println("nullelem " + hex(new Object[]{null, 1}));
    System.out.println("decimal " + hex(new Object[]{new BigDecimal("12.5")}));
    System.out.println("decimal_negative " + hex(new Object[]{new BigDecimal("-300")}));
    System.out.println("decimal_zero " + hex(new Object[]{new BigDecimal("0.00")}));
    System.out.println("decimal_long " + hex(new Object[]{new BigDecimal("-123456789012345678901234567890.123")}));
    System.out.println("two_decimals " + hex(new Object[]{new BigDecimal("1"), new BigDecimal("2.000")}));
    // Midnight UTC: run with TZ=UTC, as Debezium's workers usually are.
    System.out.println("date " + hex(new Object[]{java.sql.Date.valueOf("2024-01-02")}));
    System.out.println("date_decimal_str " + hex(new Object[]{java.sql.Date.valueOf("1969-12-31"), new BigDecimal("0.5"), "x", java.sql.Date.valueOf("2000-02-29")}));
  }
}
