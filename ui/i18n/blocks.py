"""Strings of the building-blocks pages (residual connections, self-attention, normalization)."""

EN = {
    "nav.residual": "Residual connections (ResNet)",
    "nav.attention": "Self-attention, step by step",
    "nav.norm": "Normalization and dropout",
    "home.residual": "Seed 001's BasicBlock completed and drawn, ResNet-18 stage by stage, and why skips "
    "let a deep net train, by experiment.",
    "home.attention": "Q, K, V, scores and softmax on your own sentence; causal mask, √d scaling, 1 to 8 heads.",
    "home.norm": "Which numbers BatchNorm, LayerNorm, InstanceNorm and GroupNorm average; train vs eval; "
    "BN or LN?; dropout.",
    # residual
    "res.intro": "Seed 001 asks you to complete ResNet-18's BasicBlock.forward. Here it is completed, "
    "drawn, counted, and tested against torchvision.",
    "res.block.header": "1. The BasicBlock: two paths and an add",
    "res.block.stride": "Stride",
    "res.block.skip": "Skip connection",
    "res.block.skip.help": "Off: the block is two plain convolutions, out = ReLU(F(x)), no x added back.",
    "res.block.out": "Output shape",
    "res.block.params": "Parameters",
    "res.block.grad": "‖∂out/∂x‖",
    "res.block.grad.help": "Size of the gradient that reaches the block's input (sum of outputs, one "
    "seeded input, at initialization).",
    "res.block.on": "out = ReLU(F(x) + x): the shortcut (orange) carries x around both convolutions; at "
    "stride 2 a 1×1 convolution with stride 2 (downsample) makes x the same shape as F(x).",
    "res.block.off": "Skip off: out = ReLU(F(x)). Same output shape, fewer parameters (no downsample), and "
    "a smaller gradient at the input: every gradient must now pass through both convolutions.",
    "res.flow.skip": "skip",
    "res.flow.out": "out",
    "res.table.header": "2. ResNet-18 stage by stage (torchinfo)",
    "res.table.size": "Input size (3 × S × S)",
    "res.table.classes": "Classes",
    "res.table.stem": "Stem convolution",
    "res.stem.2": "stride 2 (torchvision)",
    "res.stem.1": "stride 1 (seed 004)",
    "res.col.layer": "layer",
    "res.col.kind": "module",
    "res.col.shape": "output (C × H × W)",
    "res.col.params": "parameters",
    "res.table.total": "Total parameters (ours)",
    "res.table.torchvision": "torchvision.models.resnet18(num_classes={classes})",
    "res.table.stem1_note": "The stride-1 stem changes no parameter count, only the sizes: every map is "
    "twice as wide and high.",
    "res.seed.header": "3. Seed 004's sizes at 64×64",
    "res.seed.explain": "The lab report lists conv1 64×64×64, pool 64×32×32 … block 4 512×4×4 for a 3×64×64 "
    "input. torchvision's ResNet-18 has a **stride-2** stem (conv1 7×7, stride 2), which gives 64×32×32 "
    "after conv1. The report's numbers are exactly what a **stride-1** conv1 gives (the usual change for "
    "small images such as Tiny-ImageNet):",
    "res.seed.report": "seed 004 reports",
    "res.seed.stride2": "torchvision (stride 2)",
    "res.seed.stride1": "stride-1 stem",
    "res.exp.header": "4. Why skips matter: a deep plain net against the same net with skips",
    "res.exp.explain": "Two MLPs on real MNIST (14×14), the same depth, width 64, the same initial weights "
    "and batches; one adds each layer's input back (h = h + W·ReLU(h)). SGD with momentum, 300 steps, "
    "on the CPU.",
    "res.exp.depth": "Hidden layers",
    "res.exp.run": "Run the experiment",
    "res.exp.progress": "Step {step}: plain {plain:.3f}, residual {res:.3f}",
    "res.exp.done": "Done: final loss plain {plain:.3f} (chance is 2.303), residual {res:.3f}.",
    "res.exp.grads": "Gradient norm per layer at initialization (log scale)",
    "res.exp.curves": "Training loss",
    "res.exp.layer": "hidden layer (1 = next to the input)",
    "res.exp.step": "step",
    "res.exp.loss": "cross-entropy",
    "res.net.plain": "plain",
    "res.net.residual": "residual",
}

ZH = {
    "nav.residual": "残差连接（ResNet）",
    "nav.attention": "自注意力，一步一步",
    "nav.norm": "归一化与丢弃法",
    "home.residual": "补全并画出种子 001 的 BasicBlock，逐阶段查看 ResNet-18，并用实验说明跳跃连接为何能让深层网络训练起来。",
    "home.attention": "在你自己的句子上计算 Q、K、V、分数和 softmax；因果掩码、√d 缩放、1 到 8 个头。",
    "home.norm": "BatchNorm、LayerNorm、InstanceNorm、GroupNorm 各自对哪些数求平均；训练与评估模式；BN 还是 LN？丢弃法。",
    # residual
    "res.intro": "种子 001 要求补全 ResNet-18 的 BasicBlock.forward。这里给出补全后的代码、数据流图、参数统计，并与 torchvision 对照检验。",
    "res.block.header": "1. BasicBlock：两条路径和一次相加",
    "res.block.stride": "步幅",
    "res.block.skip": "跳跃连接",
    "res.block.skip.help": "关闭：该块只是两层普通卷积，out = ReLU(F(x))，不再加回 x。",
    "res.block.out": "输出形状",
    "res.block.params": "参数量",
    "res.block.grad": "‖∂out/∂x‖",
    "res.block.grad.help": "传回到块输入处的梯度大小（对输出求和，一个固定种子的输入，初始化时）。",
    "res.block.on": "out = ReLU(F(x) + x)：捷径（橙色）让 x 绕过两层卷积；步幅为 2 时，用步幅 2 的 1×1 卷积（downsample）把 x 变成与 F(x) 相同的形状。",
    "res.block.off": "关闭跳跃连接：out = ReLU(F(x))。输出形状不变，参数更少（没有 downsample），输入处的梯度更小：所有梯度都必须穿过两层卷积。",
    "res.flow.skip": "捷径",
    "res.flow.out": "输出",
    "res.table.header": "2. 逐阶段查看 ResNet-18（torchinfo）",
    "res.table.size": "输入尺寸（3 × S × S）",
    "res.table.classes": "类别数",
    "res.table.stem": "起始卷积（stem）",
    "res.stem.2": "步幅 2（torchvision）",
    "res.stem.1": "步幅 1（种子 004）",
    "res.col.layer": "层",
    "res.col.kind": "模块",
    "res.col.shape": "输出（C × H × W）",
    "res.col.params": "参数量",
    "res.table.total": "总参数量（本页实现）",
    "res.table.torchvision": "torchvision.models.resnet18(num_classes={classes})",
    "res.table.stem1_note": "步幅为 1 的 stem 不改变参数量，只改变尺寸：每张特征图的宽和高都翻倍。",
    "res.seed.header": "3. 种子 004 在 64×64 输入下的尺寸",
    "res.seed.explain": "实验报告对 3×64×64 的输入列出：conv1 64×64×64，池化 64×32×32 … 残差块 4 512×4×4。"
    "torchvision 的 ResNet-18 起始卷积步幅为 **2**（conv1 7×7，步幅 2），conv1 之后是 64×32×32。"
    "报告中的数字恰好是把 conv1 改为 **步幅 1** 的结果（小图像如 Tiny-ImageNet 常用的改法）：",
    "res.seed.report": "种子 004 报告",
    "res.seed.stride2": "torchvision（步幅 2）",
    "res.seed.stride1": "步幅 1 的 stem",
    "res.exp.header": "4. 跳跃连接为何重要：深层普通网络与同样深度的残差网络",
    "res.exp.explain": "两个多层感知机在真实 MNIST（14×14）上训练：深度相同、宽度 64、初始权重和批次都相同；"
    "其中一个把每层的输入加回去（h = h + W·ReLU(h)）。带动量的 SGD，300 步，在 CPU 上运行。",
    "res.exp.depth": "隐藏层数",
    "res.exp.run": "运行实验",
    "res.exp.progress": "第 {step} 步：普通网络 {plain:.3f}，残差网络 {res:.3f}",
    "res.exp.done": "完成：最终损失 普通网络 {plain:.3f}（随机猜测为 2.303），残差网络 {res:.3f}。",
    "res.exp.grads": "初始化时每层的梯度范数（对数坐标）",
    "res.exp.curves": "训练损失",
    "res.exp.layer": "隐藏层（1 = 最靠近输入）",
    "res.exp.step": "步",
    "res.exp.loss": "交叉熵",
    "res.net.plain": "普通网络",
    "res.net.residual": "残差网络",
}
