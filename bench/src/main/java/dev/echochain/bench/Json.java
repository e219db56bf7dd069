package dev.echochain.bench;

import java.math.BigDecimal;
import java.math.MathContext;
import java.util.List;
import java.util.Map;

/** Writes maps, lists, strings, numbers and booleans as JSON; enough for the result file. */
final class Json {

    private Json() {
    }

    static String write(Object value) {
        StringBuilder out = new StringBuilder();
        write(out, value, "");
        return out.append('\n').toString();
    }

    private static void write(StringBuilder out, Object value, String indent) {
        String inner = indent + "  ";
        if (value instanceof Map<?, ?> map) {
            out.append("{");
            String separator = "\n";
            for (Map.Entry<?, ?> entry : map.entrySet()) {
                out.append(separator).append(inner);
                string(out, entry.getKey().toString());
                out.append(": ");
                write(out, entry.getValue(), inner);
                separator = ",\n";
            }
            out.append(map.isEmpty() ? "}" : "\n" + indent + "}");
        } else if (value instanceof List<?> list) {
            boolean simple = list.stream().noneMatch(item -> item instanceof Map || item instanceof List);
            out.append("[");
            String separator = simple ? "" : "\n" + inner;
            for (Object item : list) {
                out.append(separator);
                write(out, item, inner);
                separator = simple ? ", " : ",\n" + inner;
            }
            out.append(simple || list.isEmpty() ? "]" : "\n" + indent + "]");
        } else if (value instanceof Double number) {
            out.append(number.isNaN() || number.isInfinite() ? "null" : BigDecimal.valueOf(number)
                    .round(new MathContext(4)).stripTrailingZeros().toPlainString());
        } else if (value instanceof Number || value instanceof Boolean) {
            out.append(value);
        } else if (value == null) {
            out.append("null");
        } else {
            string(out, value.toString());
        }
    }

    private static void string(StringBuilder out, String text) {
        out.append('"');
        for (char c : text.toCharArray()) {
            switch (c) {
                case '"' -> out.append("\\\"");
                case '\\' -> out.append("\\\\");
                case '\n' -> out.append("\\n");
                default -> {
                    if (c < 0x20) {
                        out.append(String.format("\\u%04x", (int) c));
                    } else {
                        out.append(c);
                    }
                }
            }
        }
        out.append('"');
    }
}
