//! Rewrites of a traced function's graph that give the same results faster, run once when
//! the graph is built (as TensorFlow's grappler rewrites a `tf.function`).
//!
//! - A JPEG decode whose only use is a crop becomes one `DecodeThenCrop` node, which decodes
//!   just the window the crop keeps (`ops/image.rs`): `crop_to_bounding_box`,
//!   `central_crop`, `random_crop` and `random_resized_crop` after `decode_jpeg` or
//!   `decode_image`. The pixels and the random draws are those of the two nodes.
//! - Nodes no output needs are not run ([`live_nodes`]), and each value is dropped after its
//!   last use ([`last_uses`]), so that large intermediates (a decoded image) free their
//!   memory, still in the cache, for the next op's output.

use super::graph::{Node, Output};
use super::image::{ImageOp, RandomImageOp};

/// The nodes each node reads.
pub(super) fn operands(node: &Node) -> Vec<usize> {
    match node {
        Node::Array(_, inputs)
        | Node::Text(_, inputs)
        | Node::Image(_, inputs)
        | Node::Multi(_, inputs) => inputs.clone(),
        Node::Input(_) | Node::Const(_) | Node::Random { .. } => vec![],
        Node::Binary(_, a, b) | Node::Compare(_, a, b) => vec![*a, *b],
        Node::Part(a, _)
        | Node::Unary(_, a)
        | Node::LogicalNot(a)
        | Node::Cast(a, _)
        | Node::Reduce(_, a, _, _)
        | Node::ArgReduce(_, a, _)
        | Node::RandomImage { input: a, .. } => vec![*a],
    }
}

/// Every node the output refers to.
pub(super) fn output_nodes(output: &Output, into: &mut Vec<usize>) {
    match output {
        Output::Node(i) => into.push(*i),
        Output::Ragged(v) => into.extend(v),
        Output::Sparse(v) => into.extend(v),
        Output::Tuple(v) => v.iter().for_each(|o| output_nodes(o, into)),
        Output::Dict(v) => v.iter().for_each(|(_, o)| output_nodes(o, into)),
    }
}

/// How many times each node is read, by other nodes and by the output.
fn use_counts(nodes: &[Node], output: &Output) -> Vec<usize> {
    let mut uses = vec![0; nodes.len()];
    for node in nodes {
        for i in operands(node) {
            uses[i] += 1;
        }
    }
    let mut outputs = Vec::new();
    output_nodes(output, &mut outputs);
    for i in outputs {
        uses[i] += 1;
    }
    uses
}

/// The decode op and its input, when `node` is a decode the window decoder (or the scaled
/// decoder) can stand in for.
fn fusable_decode(node: &Node) -> Option<(&ImageOp, usize)> {
    match node {
        Node::Image(op @ (ImageOp::DecodeJpeg(_, 1) | ImageOp::DecodeImage(_)), inputs)
            if inputs.len() == 1 =>
        {
            Some((op, inputs[0]))
        }
        _ => None,
    }
}

/// Fuses each decode whose only use is a crop into that crop's node. The crop node keeps
/// its index (a random op's stream is derived from it); the decode node is left unused.
pub(super) fn fuse_decode_and_crop(nodes: &mut [Node], output: &Output) {
    let uses = use_counts(nodes, output);
    for j in 0..nodes.len() {
        // (A node with the wrong number of inputs is left alone: running it reports that.)
        let input = match &nodes[j] {
            Node::Image(ImageOp::CropToBoundingBox(_) | ImageOp::CentralCrop(_), inputs)
                if inputs.len() == 1 =>
            {
                inputs[0]
            }
            Node::RandomImage {
                op: RandomImageOp::RandomCrop(_) | RandomImageOp::RandomResizedCrop { .. },
                input,
                ..
            } => *input,
            _ => continue,
        };
        let Some((decode, bytes)) = fusable_decode(&nodes[input]) else {
            continue;
        };
        if uses[input] != 1 {
            continue;
        }
        let decode = decode.clone();
        match &mut nodes[j] {
            Node::Image(op, inputs) => {
                let crop = std::mem::replace(op, ImageOp::Transpose);
                *op = ImageOp::DecodeThenCrop(Box::new(decode), Box::new(crop));
                *inputs = vec![bytes];
            }
            Node::RandomImage { op, input, .. } => {
                let crop = std::mem::replace(op, RandomImageOp::RandomFlip(false));
                *op = RandomImageOp::DecodeThenCrop(decode, Box::new(crop));
                *input = bytes;
            }
            _ => unreachable!("matched above"),
        }
    }
}

/// `approximate_image_ops`: rewrites each decode whose only use is a `resize` into one
/// `DecodeScaledThenResize` node, which decodes at a reduced DCT scale when the resize
/// shrinks the image enough (`ops/image.rs`). Returns whether it rewrote anything.
pub(super) fn decode_at_reduced_scale(nodes: &mut [Node], output: &Output) -> bool {
    let uses = use_counts(nodes, output);
    let mut rewrote = false;
    for j in 0..nodes.len() {
        let Node::Image(resize @ ImageOp::Resize { .. }, inputs) = &nodes[j] else {
            continue;
        };
        let [input] = inputs[..] else {
            continue;
        };
        let Some((decode, bytes)) = fusable_decode(&nodes[input]) else {
            continue;
        };
        if uses[input] != 1 {
            continue;
        }
        let op =
            ImageOp::DecodeScaledThenResize(Box::new(decode.clone()), Box::new(resize.clone()));
        nodes[j] = Node::Image(op, vec![bytes]);
        rewrote = true;
    }
    rewrote
}

/// Which nodes the output needs, directly or through other nodes.
pub(super) fn live_nodes(nodes: &[Node], output: &Output) -> Vec<bool> {
    let mut live = vec![false; nodes.len()];
    let mut outputs = Vec::new();
    output_nodes(output, &mut outputs);
    for i in outputs {
        live[i] = true;
    }
    // Operands come before their users, so one backward sweep reaches them all.
    for j in (0..nodes.len()).rev() {
        if live[j] {
            for i in operands(&nodes[j]) {
                live[i] = true;
            }
        }
    }
    live
}

/// For each node, the nodes whose values may be dropped once it has run: those it reads
/// for the last time. Values the output uses are kept to the end.
pub(super) fn last_uses(nodes: &[Node], output: &Output) -> Vec<Vec<usize>> {
    let mut last = vec![None; nodes.len()];
    for (j, node) in nodes.iter().enumerate() {
        for i in operands(node) {
            last[i] = Some(j);
        }
    }
    let mut outputs = Vec::new();
    output_nodes(output, &mut outputs);
    for i in outputs {
        last[i] = None;
    }
    let mut drops = vec![Vec::new(); nodes.len()];
    for (i, last) in last.into_iter().enumerate() {
        if let Some(j) = last {
            drops[j].push(i);
        }
    }
    drops
}

#[cfg(test)]
mod tests {
    use super::*;
    use crate::error::Error;
    use crate::image::encode::encode_jpeg;
    use crate::image::resize::ResizeMethod;
    use crate::ops::graph::Graph;
    use crate::value::{Element, Tensor};

    /// A 375x500 photograph-like JPEG (smooth gradients plus texture), 4:2:0 or 4:4:4.
    fn jpeg(chroma_downsampling: bool) -> Tensor {
        let (h, w) = (375usize, 500usize);
        let pixels: Vec<u8> = (0..h * w * 3)
            .map(|i| {
                let (y, x, c) = (i / (w * 3), i / 3 % w, i % 3);
                ((x * (c + 1) + y * 2 + (x * y) % 23) % 256) as u8
            })
            .collect();
        let image = Tensor::from_vec(&[h, w, 3], pixels).unwrap();
        encode_jpeg(&image, 90, chroma_downsampling).unwrap()
    }

    /// decode -> crop (-> more) as traced; `crop` is the node after the decode (node 1).
    fn graph(decode: ImageOp, crop: Node, keep_decoded: bool, fused: bool) -> Graph {
        let nodes = vec![Node::Input(0), Node::Image(decode, vec![0]), crop];
        let output = if keep_decoded {
            Output::Tuple(vec![Output::Node(2), Output::Node(1)])
        } else {
            Output::Node(2)
        };
        let build = if fused { Graph::new } else { Graph::exact };
        build(nodes, output, "test".into()).unwrap()
    }

    fn crops() -> Vec<Node> {
        let random = |op| Node::RandomImage {
            op,
            seed: 7,
            input: 1,
        };
        vec![
            Node::Image(ImageOp::CropToBoundingBox([17, 33, 120, 201]), vec![1]),
            Node::Image(ImageOp::CropToBoundingBox([0, 0, 375, 500]), vec![1]),
            Node::Image(ImageOp::CropToBoundingBox([374, 499, 1, 1]), vec![1]),
            Node::Image(ImageOp::CentralCrop(0.5), vec![1]),
            Node::Image(ImageOp::CentralCrop(0.875), vec![1]),
            random(RandomImageOp::RandomCrop(vec![100, 150, 3])),
            random(RandomImageOp::RandomResizedCrop {
                height: 224,
                width: 224,
                scale: (0.08, 1.0),
                ratio: (0.75, 4.0 / 3.0),
                method: ResizeMethod::Bilinear,
            }),
        ]
    }

    fn decodes() -> Vec<ImageOp> {
        vec![
            ImageOp::DecodeJpeg(3, 1),
            ImageOp::DecodeJpeg(0, 1),
            ImageOp::DecodeJpeg(1, 1),
            ImageOp::DecodeImage(Some(3)),
            ImageOp::DecodeImage(None),
        ]
    }

    fn run(g: &Graph, bytes: &Tensor, position: u64) -> crate::error::Result<Element> {
        g.run_at(&Element::Tensor(bytes.clone()), position)
    }

    fn fused_nodes(g: &Graph) -> usize {
        g.nodes()
            .iter()
            .filter(|n| {
                matches!(
                    n,
                    Node::Image(ImageOp::DecodeThenCrop(..), _)
                        | Node::RandomImage {
                            op: RandomImageOp::DecodeThenCrop(..),
                            ..
                        }
                )
            })
            .count()
    }

    #[test]
    fn a_fused_decode_and_crop_gives_the_pixels_and_draws_of_the_two_ops() {
        for chroma in [true, false] {
            let bytes = jpeg(chroma);
            for decode in decodes() {
                for crop in crops() {
                    let fused = graph(decode.clone(), crop.clone(), false, true);
                    let exact = graph(decode.clone(), crop.clone(), false, false);
                    assert_eq!(fused_nodes(&fused), 1, "{decode:?} {crop:?}");
                    assert_eq!(fused_nodes(&exact), 0);
                    for position in 0..12 {
                        // (A crop keeping 3 channels of a gray decode fails, alike.)
                        let got = run(&fused, &bytes, position).map_err(|e| e.to_string());
                        let want = run(&exact, &bytes, position).map_err(|e| e.to_string());
                        assert_eq!(
                            got, want,
                            "{decode:?} then {crop:?} at {position}, 4:2:0 {chroma}"
                        );
                    }
                }
            }
        }
    }

    #[test]
    fn a_decode_used_elsewhere_is_not_fused() {
        let bytes = jpeg(true);
        for crop in crops() {
            let g = graph(ImageOp::DecodeJpeg(3, 1), crop.clone(), true, true);
            assert_eq!(fused_nodes(&g), 0, "{crop:?}");
            let exact = graph(ImageOp::DecodeJpeg(3, 1), crop, true, false);
            assert_eq!(run(&g, &bytes, 3).unwrap(), run(&exact, &bytes, 3).unwrap());
        }
        // A decode at a reduced scale is not what the window decoder does.
        let g = graph(ImageOp::DecodeJpeg(3, 2), crops()[0].clone(), false, true);
        assert_eq!(fused_nodes(&g), 0);
    }

    /// Bad input gets the errors of the unfused ops, word for word.
    #[test]
    fn bad_input_gets_the_unfused_errors() {
        let good = jpeg(true);
        let bytes = good.string_values().unwrap()[0].clone();
        let truncated = Tensor::string_scalar(bytes.slice(..bytes.len() / 2));
        let mut flipped = bytes.to_vec();
        for b in flipped[bytes.len() / 3..bytes.len() / 3 + 64].iter_mut() {
            *b ^= 0x5a;
        }
        let inputs = [
            truncated,
            Tensor::string_scalar(flipped),
            Tensor::string_scalar(&b"not an image"[..]),
            Tensor::string_scalar(&b"\xff\xd8\xff"[..]),
            Tensor::scalar(3i64),
        ];
        let mut crops = crops();
        crops.push(Node::Image(
            ImageOp::CropToBoundingBox([300, 0, 100, 10]),
            vec![1],
        ));
        crops.push(Node::RandomImage {
            op: RandomImageOp::RandomCrop(vec![400, 10, 3]),
            seed: 1,
            input: 1,
        });
        crops.push(Node::RandomImage {
            op: RandomImageOp::RandomCrop(vec![10, 10, 4]),
            seed: 1,
            input: 1,
        });
        let message = |r: crate::error::Result<Element>| r.map_err(|e: Error| e.to_string());
        for crop in crops {
            let fused = graph(ImageOp::DecodeJpeg(3, 1), crop.clone(), false, true);
            let exact = graph(ImageOp::DecodeJpeg(3, 1), crop.clone(), false, false);
            for input in inputs.iter().chain([&good]) {
                assert_eq!(
                    message(run(&fused, input, 5)),
                    message(run(&exact, input, 5)),
                    "{crop:?}"
                );
            }
        }
    }

    fn resize(height: usize, width: usize, method: ResizeMethod, antialias: bool) -> Node {
        Node::Image(
            ImageOp::Resize {
                height,
                width,
                method,
                antialias,
                preserve_aspect_ratio: false,
            },
            vec![1],
        )
    }

    fn psnr(a: &Tensor, b: &Tensor) -> f64 {
        let (a, b) = (a.as_slice::<f32>().unwrap(), b.as_slice::<f32>().unwrap());
        let mse = a
            .iter()
            .zip(b)
            .map(|(x, y)| (*x as f64 - *y as f64).powi(2))
            .sum::<f64>()
            / a.len() as f64;
        10.0 * (255.0f64.powi(2) / mse.max(1e-12)).log10()
    }

    fn approximate() -> crate::dataset::Options {
        crate::dataset::Options {
            approximate_image_ops: Some(true),
            ..Default::default()
        }
    }

    #[test]
    fn approximate_image_ops_decodes_at_a_reduced_scale_only_when_asked_and_close() {
        use crate::dataset::MapFn;
        let bytes = jpeg(true);
        let exact_graph = graph(
            ImageOp::DecodeJpeg(3, 1),
            resize(64, 64, ResizeMethod::Bilinear, true),
            false,
            true,
        );
        assert!(exact_graph
            .specialize(&crate::dataset::Options::default())
            .is_none());
        let approx = exact_graph.approximated(&approximate()).unwrap();
        assert!(matches!(
            approx.nodes()[2],
            Node::Image(ImageOp::DecodeScaledThenResize(..), _)
        ));
        // The quality on the reference photographs (250x333) at 1/2 scale, each filter.
        let dir = crate::testdata::dir("images");
        for name in [
            "baseline420.jpg",
            "baseline444.jpg",
            "progressive.jpg",
            "gray.jpg",
        ] {
            let photo = Tensor::string_scalar(std::fs::read(dir.join(name)).unwrap());
            {
                let (method, antialias) = (ResizeMethod::Bilinear, true);
                let node = resize(48, 64, method, antialias);
                let exact = graph(ImageOp::DecodeJpeg(3, 1), node.clone(), false, true);
                let approx = exact.approximated(&approximate()).unwrap();
                let want = run(&exact, &photo, 0).unwrap().into_tensor().unwrap();
                let got = run(&approx, &photo, 0).unwrap().into_tensor().unwrap();
                assert_eq!(got.shape(), want.shape());
                let db = psnr(&got, &want);
                eprintln!("{name} {method:?} antialias={antialias}: PSNR {db:.1} dB");
                assert!(
                    db.is_finite() && db >= 38.0,
                    "{name} {method:?}: PSNR {db} dB"
                );
            }
        }
        // An aliasing resize (no antialias), a small downscale, or a decode used elsewhere
        // keep the exact result.
        for (node, keep) in [
            (resize(64, 64, ResizeMethod::Bilinear, false), false),
            (resize(64, 64, ResizeMethod::Nearest, true), false),
            (resize(64, 64, ResizeMethod::Lanczos3, true), false),
            (resize(100, 100, ResizeMethod::Area, false), false),
            (resize(64, 64, ResizeMethod::Area, false), false),
            (resize(64, 64, ResizeMethod::Bilinear, true), true),
            // Covered, but shrunk too little to reduce: decoded at full scale in the fused
            // node, which must then give the exact result.
            (resize(200, 300, ResizeMethod::Bilinear, true), false),
        ] {
            let exact = graph(ImageOp::DecodeJpeg(3, 1), node.clone(), keep, false);
            let approx = graph(ImageOp::DecodeJpeg(3, 1), node.clone(), keep, true)
                .approximated(&approximate());
            let got = match &approx {
                Some(g) => run(g, &bytes, 0).unwrap(),
                None => run(&exact, &bytes, 0).unwrap(),
            };
            assert_eq!(got, run(&exact, &bytes, 0).unwrap(), "{node:?}");
        }
        // Bad input gets the exact path's errors.
        let approx = graph(
            ImageOp::DecodeJpeg(3, 1),
            resize(32, 32, ResizeMethod::Bilinear, true),
            false,
            true,
        )
        .approximated(&approximate())
        .unwrap();
        let exact = graph(
            ImageOp::DecodeJpeg(3, 1),
            resize(32, 32, ResizeMethod::Bilinear, true),
            false,
            false,
        );
        let good = bytes.string_values().unwrap()[0].clone();
        for input in [
            Tensor::string_scalar(good.slice(..good.len() / 2)),
            Tensor::string_scalar(&b"not an image"[..]),
        ] {
            assert_eq!(
                run(&approx, &input, 0).map_err(|e| e.to_string()),
                run(&exact, &input, 0).map_err(|e| e.to_string())
            );
        }
    }

    /// Nodes with the wrong number of inputs (a graph built by hand) are not fused and do
    /// not panic the rewrite; running them reports the problem.
    #[test]
    fn malformed_nodes_are_left_alone() {
        let nodes = vec![
            Node::Input(0),
            Node::Image(ImageOp::DecodeJpeg(3, 1), vec![]),
            Node::Image(ImageOp::CropToBoundingBox([0, 0, 1, 1]), vec![1, 0]),
            Node::Image(ImageOp::DecodeJpeg(3, 1), vec![0, 0]),
            Node::Image(
                ImageOp::Resize {
                    height: 2,
                    width: 2,
                    method: ResizeMethod::Bilinear,
                    antialias: true,
                    preserve_aspect_ratio: false,
                },
                vec![3],
            ),
        ];
        let output = Output::Tuple(vec![Output::Node(2), Output::Node(4)]);
        let g = Graph::new(nodes, output, "bad".into()).unwrap();
        assert_eq!(fused_nodes(&g), 0);
        assert!(g.approximated(&approximate()).is_none());
        assert!(run(&g, &jpeg(true), 0).is_err());
    }

    #[test]
    fn dead_nodes_are_not_run_and_values_are_dropped_after_their_last_use() {
        // 0 input, 1 unused decode (of a non-image: it would fail), 2 = 0 + 0, 3 = 2 * 0.
        use crate::ops::arithmetic::BinaryOp;
        let nodes = vec![
            Node::Input(0),
            Node::Image(ImageOp::DecodeJpeg(3, 1), vec![0]),
            Node::Binary(BinaryOp::Add, 0, 0),
            Node::Binary(BinaryOp::Multiply, 2, 0),
        ];
        let output = Output::Tuple(vec![Output::Node(3), Output::Node(2)]);
        assert_eq!(live_nodes(&nodes, &output), [true, false, true, true]);
        // Node 0 is last read by node 3; nodes 2 and 3 are outputs, kept.
        assert_eq!(
            last_uses(&nodes, &output),
            [vec![], vec![], vec![], vec![0]]
        );
        let g = Graph::new(nodes, output, "dead".into()).unwrap();
        let out = g.run(&Element::Tensor(Tensor::scalar(3i64))).unwrap();
        assert_eq!(
            out,
            Element::Tuple(vec![
                Element::Tensor(Tensor::scalar(18i64)),
                Element::Tensor(Tensor::scalar(6i64))
            ])
        );
    }
}
