package dev.echochain.bench;

import java.util.ArrayList;
import java.util.Collections;
import java.util.List;

/** Median and range of a small sample, as the report gives every figure. */
record Stats(double median, double min, double max, int n) {

    static Stats of(List<Double> values) {
        List<Double> sorted = new ArrayList<>(values.stream().filter(v -> !v.isNaN()).toList());
        if (sorted.isEmpty()) {
            return new Stats(Double.NaN, Double.NaN, Double.NaN, 0);
        }
        Collections.sort(sorted);
        int n = sorted.size();
        double median = n % 2 == 1 ? sorted.get(n / 2) : (sorted.get(n / 2 - 1) + sorted.get(n / 2)) / 2;
        return new Stats(median, sorted.getFirst(), sorted.getLast(), n);
    }

    /** "1.23 (1.10–1.31)": the median with the range over the rounds. */
    String text(String format) {
        if (n == 0) {
            return "n/a";
        }
        String m = String.format(format, median);
        return n == 1 ? m : m + " (" + String.format(format, min) + "–" + String.format(format, max) + ")";
    }
}
